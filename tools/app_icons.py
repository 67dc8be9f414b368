"""`python -m tools.app_icons`: draws the web app's icons (the home-screen icon of an installed
app, the manifest's `icons`) into `offlinetube_api/web/static/icons/`: a white play triangle on
the app's red, full bleed, the triangle inside the middle 80% so the square is also a maskable
icon (launchers crop it to a circle or a rounded square). `icon.svg` is the same drawing."""

from pathlib import Path

from PIL import Image, ImageDraw

ICONS_DIR = Path(__file__).resolve().parent.parent / "offlinetube_api" / "web" / "static" / "icons"
RED = "#c4302b"
# The triangle's corners, as fractions of the side.
TRIANGLE = ((0.38, 0.28), (0.38, 0.72), (0.74, 0.5))
SIZES = (192, 512)


def draw(size: int) -> Image.Image:
    image = Image.new("RGB", (size, size), RED)
    ImageDraw.Draw(image).polygon([(x * size, y * size) for x, y in TRIANGLE], fill="white")
    return image


def svg() -> str:
    points = " ".join(f"{x * 100:g},{y * 100:g}" for x, y in TRIANGLE)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">'
        f'<rect width="100" height="100" fill="{RED}"/>'
        f'<polygon points="{points}" fill="#fff"/></svg>\n'
    )


def main() -> None:
    ICONS_DIR.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        draw(size).save(ICONS_DIR / f"icon-{size}.png", optimize=True)
    (ICONS_DIR / "icon.svg").write_text(svg())


if __name__ == "__main__":
    main()
