//! The look shared by every figure: the embedded font, text sizes, the model palette and
//! the colour maps of the heatmaps.
//!
//! Text is drawn with plotters' `ab_glyph` renderer from a TrueType font compiled into the
//! binary (`assets/DejaVuSans.ttf`, Bitstream Vera licence, see
//! `assets/DejaVuSans-LICENSE.txt`), so figures render the same on a machine with no system
//! fonts at all.

use std::sync::OnceLock;

use plotters::style::{register_font, FontStyle, IntoFont, RGBColor, TextStyle};

use super::PlotError;

/// The family name every text style of the figures asks for.
pub(crate) const FONT: &str = "sans-serif";

/// DejaVu Sans 2.37 (Debian `fonts-dejavu-core`), about 750 kB.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");

/// Figure title size in pixels.
pub(crate) const TITLE_SIZE: u32 = 22;
/// Panel caption size in pixels.
pub(crate) const CAPTION_SIZE: u32 = 15;
/// Axis description size in pixels.
pub(crate) const AXIS_SIZE: u32 = 14;
/// Tick label size in pixels.
pub(crate) const TICK_SIZE: u32 = 12;

/// Dark grey for text and axes (softer than pure black).
pub(crate) const INK: RGBColor = RGBColor(40, 40, 40);
/// Light grey for grid lines.
pub(crate) const GRID: RGBColor = RGBColor(225, 225, 225);
/// Colour of a heatmap cell whose value is NaN (missing or broken data).
pub(crate) const MISSING: RGBColor = RGBColor(200, 200, 200);
/// Colour marking wrong bits in the outputs figure.
pub(crate) const ERROR_MARK: RGBColor = RGBColor(230, 30, 60);

/// The text style of every label: the embedded font at `size` pixels, in [`INK`].
pub(crate) fn text(size: u32) -> TextStyle<'static> {
    (FONT, size as f64).into_font().color(&INK)
}

/// Registers the embedded font under [`FONT`], once per process.
///
/// Every plotting function calls this first; a font that fails to parse becomes a
/// [`PlotError::Font`] instead of a panic (or of silently missing text).
pub(crate) fn ensure_font() -> Result<(), PlotError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED.get_or_init(|| register_font_bytes(FONT, FONT_BYTES)).clone().map_err(PlotError::Font)
}

/// Registers `bytes` (a whole TrueType/OpenType file) as the normal style of `family`.
fn register_font_bytes(family: &str, bytes: &'static [u8]) -> Result<(), String> {
    register_font(family, FontStyle::Normal, bytes)
        .map_err(|_| format!("the embedded font for {family:?} is not a valid TrueType font"))
}

/// Tableau-10 colours, the order in which models without a fixed colour get one.
pub(crate) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),  // blue
    RGBColor(255, 127, 14),  // orange
    RGBColor(44, 160, 44),   // green
    RGBColor(214, 39, 40),   // red
    RGBColor(148, 103, 189), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(227, 119, 194), // pink
    RGBColor(127, 127, 127), // grey
    RGBColor(188, 189, 34),  // olive
    RGBColor(23, 190, 207),  // cyan
];

/// Fixed colours for the usual model names, so every figure agrees: NTM blue, LSTM orange,
/// NTM-FF green, DNC red; the other baselines: GRU purple, RNN brown, attention pink,
/// DSGU olive.
fn preferred_colour(name: &str) -> Option<usize> {
    match name.to_ascii_lowercase().as_str() {
        "ntm" | "ntm-lstm" | "ntm_lstm" => Some(0),
        "lstm" => Some(1),
        "ntm-ff" | "ntm_ff" | "ntm-feedforward" => Some(2),
        "dnc" => Some(3),
        "gru" => Some(4),
        "rnn" => Some(5),
        "attention" => Some(6),
        "dsgu" => Some(8),
        _ => None,
    }
}

/// One distinct colour per model name, in order: known names keep their fixed colour,
/// the others take the first palette entries still free (cycling past ten models).
pub(crate) fn model_colours(names: &[&str]) -> Vec<RGBColor> {
    let n = PALETTE.len();
    let mut taken = [false; PALETTE.len()];
    let mut picks = Vec::with_capacity(names.len());
    for name in names {
        match preferred_colour(name) {
            Some(i) if !taken[i] => {
                taken[i] = true;
                picks.push(Some(i));
            }
            _ => picks.push(None),
        }
    }
    let mut cycle = 0;
    for pick in picks.iter_mut().filter(|p| p.is_none()) {
        let i = match (0..n).find(|&i| !taken[i]) {
            Some(i) => {
                taken[i] = true;
                i
            }
            None => {
                cycle += 1;
                (cycle - 1) % n
            }
        };
        *pick = Some(i);
    }
    picks.into_iter().map(|p| PALETTE[p.unwrap_or(0)]).collect()
}

/// Viridis (matplotlib's perceptual sequential map) sampled at nine even stops.
const VIRIDIS: [(u8, u8, u8); 9] = [
    (68, 1, 84),
    (71, 44, 122),
    (59, 81, 139),
    (44, 113, 142),
    (33, 144, 141),
    (39, 173, 129),
    (92, 200, 99),
    (170, 220, 50),
    (253, 231, 37),
];

/// A diverging blue-white-red map (ColorBrewer RdBu, reversed) for signed values.
const DIVERGING: [(u8, u8, u8); 7] =
    [(33, 102, 172), (103, 169, 207), (209, 229, 240), (247, 247, 247), (253, 219, 199), (239, 138, 98), (178, 24, 43)];

/// Which colour map a heatmap uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColourMap {
    /// Sequential, for values in a range such as bits or weightings.
    Viridis,
    /// Diverging around zero, for signed vectors such as add vectors.
    Diverging,
}

impl ColourMap {
    /// The colour at position `t` in `[0, 1]`; `t` outside is clamped, NaN gives
    /// [`MISSING`] (so broken data is visible, never a panic).
    pub(crate) fn at(self, t: f64) -> RGBColor {
        if t.is_nan() {
            return MISSING;
        }
        let stops: &[(u8, u8, u8)] = match self {
            ColourMap::Viridis => &VIRIDIS,
            ColourMap::Diverging => &DIVERGING,
        };
        let x = t.clamp(0.0, 1.0) * (stops.len() - 1) as f64;
        let i = (x.floor() as usize).min(stops.len() - 2);
        let f = x - i as f64;
        let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
        let (a, b) = (stops[i], stops[i + 1]);
        RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
    }
}

/// A colour map with the value range it spans, as shown by the colour bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Scale {
    pub map: ColourMap,
    pub lo: f64,
    pub hi: f64,
}

impl Scale {
    /// Values in `[0, 1]` (bits, sigmoid outputs, weightings) on viridis.
    pub(crate) fn unit() -> Self {
        Scale { map: ColourMap::Viridis, lo: 0.0, hi: 1.0 }
    }

    /// Signed values on the diverging map, symmetric around 0 so white means 0.
    /// `max_abs` that is not finite or not positive falls back to 1.
    pub(crate) fn symmetric(max_abs: f64) -> Self {
        let a = if max_abs.is_finite() && max_abs > 0.0 { max_abs } else { 1.0 };
        Scale { map: ColourMap::Diverging, lo: -a, hi: a }
    }

    /// The colour of value `v`.
    pub(crate) fn colour(&self, v: f64) -> RGBColor {
        if v.is_nan() {
            return MISSING;
        }
        self.map.at((v - self.lo) / (self.hi - self.lo))
    }
}

/// A tick label on an axis spanning `span`: [`format_number`], with 0 for a value that is 0
/// but for rounding (a tick at `lo + k * step` of a symmetric range lands at -1e-17, which
/// must not read `-1e-17`).
pub(crate) fn tick_label(v: f64, span: f64) -> String {
    match v.abs() <= span.abs() * 1e-9 {
        true => "0".to_string(),
        false => format_number(v),
    }
}

/// Short tick labels: `0`, `0.5`, `-0.25`, `20k`, `1.5M`, `1e-3`, `-5e-3`.
pub(crate) fn format_number(v: f64) -> String {
    let a = v.abs();
    if v == 0.0 || !v.is_finite() {
        "0".to_string()
    } else if a >= 1e6 {
        trim(format!("{:.1}", v / 1e6)) + "M"
    } else if a >= 1e4 {
        trim(format!("{:.1}", v / 1e3)) + "k"
    } else if a >= 1.0 {
        trim(format!("{v:.1}"))
    } else if a >= 0.01 {
        trim(format!("{v:.3}"))
    } else {
        // `5e-3`, `-5e-3`: the sign and the leading digit kept (a log of a negative number
        // made every small negative label `1e0`).
        format!("{v:.0e}")
    }
}

/// Drops trailing zeros (and a trailing point) from a formatted decimal.
fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viridis_end_points_and_nan() {
        assert_eq!(ColourMap::Viridis.at(0.0), RGBColor(68, 1, 84));
        assert_eq!(ColourMap::Viridis.at(1.0), RGBColor(253, 231, 37));
        assert_eq!(ColourMap::Viridis.at(-3.0), RGBColor(68, 1, 84));
        assert_eq!(ColourMap::Viridis.at(f64::INFINITY), RGBColor(253, 231, 37));
        assert_eq!(ColourMap::Viridis.at(f64::NAN), MISSING);
    }

    #[test]
    fn diverging_is_white_at_zero() {
        let s = Scale::symmetric(2.0);
        assert_eq!(s.colour(0.0), RGBColor(247, 247, 247));
        assert_eq!(s.colour(-2.0), RGBColor(33, 102, 172));
        assert_eq!(Scale::symmetric(f64::NAN).hi, 1.0);
    }

    #[test]
    fn model_colours_are_fixed_and_distinct() {
        let c = model_colours(&["lstm", "ntm", "mine", "ntm"]);
        assert_eq!(c[0], PALETTE[1]);
        assert_eq!(c[1], PALETTE[0]);
        assert_eq!(c[2], PALETTE[2]);
        assert_ne!(c[3], c[1]);
        assert_eq!(model_colours(&vec!["x"; 25]).len(), 25);
    }

    #[test]
    fn number_format() {
        assert_eq!(format_number(20000.0), "20k");
        assert_eq!(format_number(1_500_000.0), "1.5M");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(0.001), "1e-3");
        assert_eq!(format_number(-0.001), "-1e-3");
        assert_eq!(format_number(120.0), "120");
        // Negative values keep their sign and size (each was `1e0`).
        assert_eq!(format_number(-0.005), "-5e-3");
        assert_eq!(format_number(-0.0001), "-1e-4");
        assert_eq!(format_number(-0.5), "-0.5");
        // The middle tick of a colour bar from -0.3 to 0.3 in steps of 0.1 lands at -5.6e-17.
        let middle = 0.3 - 3.0 * 0.1;
        assert!(middle < 0.0);
        assert_eq!(tick_label(middle, 0.6), "0");
        assert_eq!(tick_label(0.2, 0.6), "0.2");
    }

    #[test]
    fn embedded_font_registers_and_garbage_fails() {
        assert!(ensure_font().is_ok());
        assert!(register_font_bytes("ntm-test-broken", b"not a font").is_err());
    }
}
