//! Shared SVG pieces: the series palette and text escaping.

/// Series colours, cycled.
pub(super) const COLOURS: [&str; 12] = [
    "#1b6ac9", "#e0712c", "#2a9d4a", "#c9302c", "#7b4fc9", "#8c6d31", "#d14fa1", "#5f6b7a",
    "#17a2b8", "#a8a820", "#0b2f6b", "#f29e9e",
];

/// `s` with the characters XML gives meaning to escaped.
pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
