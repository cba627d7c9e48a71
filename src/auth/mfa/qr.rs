//! QR codes as PNG data URLs, for the `otpauth://` URI an authenticator app scans.
//!
//! `qrcode` without its default features (no `image`: it would bring a whole image library)
//! computes the modules; `png` writes them as an 8-bit greyscale image.

use anyhow::Context as _;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use qrcode::{Color, QrCode};

/// Pixels per module side.
const MODULE_PX: usize = 4;
/// Light modules around the code, as the QR specification asks (ISO/IEC 18004: 4).
const QUIET_ZONE: usize = 4;
const DARK: u8 = 0x00;
const LIGHT: u8 = 0xff;

/// `data:image/png;base64,...` of a QR code of `text` (error correction level M), 4 pixels per
/// module with a 4-module quiet zone. Fails only for a text too long for any QR code.
pub fn png_data_url(text: &str) -> anyhow::Result<String> {
    let code = QrCode::new(text.as_bytes()).context("encoding a QR code")?;
    let (side, pixels) = render(code.width(), &code.to_colors());
    let mut png = Vec::new();
    {
        let side = u32::try_from(side).context("QR code size")?;
        let mut encoder = png::Encoder::new(&mut png, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().context("writing a PNG header")?;
        writer
            .write_image_data(&pixels)
            .context("writing PNG data")?;
    }
    Ok(format!("data:image/png;base64,{}", STANDARD.encode(png)))
}

/// The image side in pixels and its greyscale pixels, row by row.
fn render(modules: usize, colors: &[Color]) -> (usize, Vec<u8>) {
    let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
    let mut pixels = vec![LIGHT; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != Color::Dark {
            continue;
        }
        let (row, column) = (index / modules + QUIET_ZONE, index % modules + QUIET_ZONE);
        for y in row * MODULE_PX..(row + 1) * MODULE_PX {
            pixels[y * side + column * MODULE_PX..][..MODULE_PX].fill(DARK);
        }
    }
    (side, pixels)
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use qrcode::{Color, QrCode};

    use super::{png_data_url, MODULE_PX, QUIET_ZONE};

    const PREFIX: &str = "data:image/png;base64,";

    #[test]
    fn an_otpauth_uri_becomes_a_png_of_its_qr_code() {
        let uri =
            "otpauth://totp/Workspaces:ann%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
                   &issuer=Workspaces&algorithm=SHA1&digits=6&period=30";
        let url = png_data_url(uri).unwrap();
        let png = STANDARD
            .decode(url.strip_prefix(PREFIX).expect("prefix"))
            .unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

        let code = QrCode::new(uri.as_bytes()).unwrap();
        let modules = code.width();
        let side = (modules + 2 * QUIET_ZONE) * MODULE_PX;
        let mut reader = png::Decoder::new(std::io::Cursor::new(&png))
            .read_info()
            .unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((frame.width as usize, frame.height as usize), (side, side));
        assert_eq!(frame.color_type, png::ColorType::Grayscale);
        // Every pixel is its module's colour, the quiet zone light.
        let colors = code.to_colors();
        for y in 0..side {
            for x in 0..side {
                let (row, column) = (y / MODULE_PX, x / MODULE_PX);
                let inside = QUIET_ZONE..QUIET_ZONE + modules;
                let dark = inside.contains(&row)
                    && inside.contains(&column)
                    && colors[(row - QUIET_ZONE) * modules + column - QUIET_ZONE] == Color::Dark;
                let expected = if dark { 0x00 } else { 0xff };
                assert_eq!(pixels[y * side + x], expected, "({x}, {y})");
            }
        }
        // The top-left finder pattern's corner is dark.
        assert_eq!(pixels[QUIET_ZONE * MODULE_PX * (side + 1)], 0x00);
    }

    #[test]
    fn a_text_too_long_for_a_qr_code_is_an_error() {
        assert!(png_data_url(&"x".repeat(8000)).is_err());
    }
}
