#!/usr/bin/python3
"""Renders the glyph data set: the letters A-J (ten classes, in the spirit of
notMNIST) drawn from the fonts of Debian's font packages, RGB, 32x32, with a
seeded colour, position, scale and rotation per image. Written as an image
folder in torchvision's ImageFolder layout:

  OUT/train/A/000000.png ... OUT/train/J/...
  OUT/test/A/...

Fonts are split by family: no family of the test images is in training, so
the test set measures letters in unseen type faces. The split and every draw
come from --seed; the same command writes the same files.

  /usr/bin/python3 examples/glyphs/make_glyphs.py --out=data/glyphs
  /usr/bin/python3 examples/glyphs/make_glyphs.py --out=data/glyphs-small --train=300 --test=100

The fonts come from scripts/setup.sh (fonts-dejavu-core, fonts-liberation,
fonts-freefont-ttf, fonts-croscore, fonts-crosextra-carlito,
fonts-crosextra-caladea, fonts-urw-base35).
"""
import argparse
import colorsys
import multiprocessing
import os
import random
import re
import sys

from PIL import Image, ImageDraw, ImageFont

LETTERS = "ABCDEFGHIJ"
FONT_ROOTS = ["/usr/share/fonts/truetype", "/usr/share/fonts/opentype"]
# Fonts without the Latin capitals (symbols, dingbats, mathematics).
EXCLUDED = re.compile(r"D050000L|StandardSymbols|Math")
# Style words stripped from a file name to find its family.
STYLE = re.compile(r"[-_]?(Regular|Roman|Book|Light|Medium|Demi|Bold|Italic|Oblique|Ita|Bd|"
                   r"ExtraLight)+$")
RENDER = 96  # glyphs are drawn at this side, then reduced to --size


def find_fonts():
    fonts = []
    for root in FONT_ROOTS:
        for folder, _, files in os.walk(root):
            for name in files:
                if name.endswith((".ttf", ".otf")) and not EXCLUDED.search(name):
                    fonts.append(os.path.join(folder, name))
    return sorted(fonts)


def family(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    previous = None
    while previous != stem:
        previous, stem = stem, STYLE.sub("", stem)
    return stem


def split_fonts(fonts, test_share, seed):
    """(train fonts, test fonts, test families): whole families go to test."""
    families = sorted({family(f) for f in fonts})
    random.Random(seed).shuffle(families)
    n_test = max(1, round(len(families) * test_share))
    test_families = set(families[:n_test])
    train = [f for f in fonts if family(f) not in test_families]
    test = [f for f in fonts if family(f) in test_families]
    return train, test, sorted(test_families)


def random_colour(rng, lightness):
    r, g, b = colorsys.hls_to_rgb(rng.random(), lightness, rng.uniform(0.3, 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def render(letter, font_path, rng, size):
    """One RGB image: a letter of a random colour on a background of another,
    scaled, rotated and moved at random."""
    dark_on_light = rng.random() < 0.5
    fg = random_colour(rng, rng.uniform(0.05, 0.35) if dark_on_light else rng.uniform(0.65, 0.95))
    bg = random_colour(rng, rng.uniform(0.65, 0.95) if dark_on_light else rng.uniform(0.05, 0.35))
    font = ImageFont.truetype(font_path, int(RENDER * rng.uniform(0.45, 0.8)))
    mask = Image.new("L", (RENDER, RENDER), 0)
    draw = ImageDraw.Draw(mask)
    left, top, right, bottom = draw.textbbox((0, 0), letter, font=font)
    x = (RENDER - (right - left)) / 2 - left + rng.uniform(-0.12, 0.12) * RENDER
    y = (RENDER - (bottom - top)) / 2 - top + rng.uniform(-0.12, 0.12) * RENDER
    draw.text((x, y), letter, fill=255, font=font)
    mask = mask.rotate(rng.uniform(-20, 20), resample=Image.BILINEAR)
    image = Image.composite(Image.new("RGB", mask.size, fg), Image.new("RGB", mask.size, bg), mask)
    return image.resize((size, size), Image.BILINEAR, reducing_gap=None)


def write_split(job):
    out, split, fonts, count, size, seed, first, last = job
    for index in range(first, last):
        rng = random.Random(f"{seed}/{split}/{index}")
        letter = LETTERS[index % len(LETTERS)]
        image = render(letter, rng.choice(fonts), rng, size)
        image.save(os.path.join(out, split, letter, f"{index:06d}.png"), optimize=False)
    return last - first


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write train/ and test/ into")
    parser.add_argument("--train", type=int, default=20000, help="training images")
    parser.add_argument("--test", type=int, default=5000, help="test images")
    parser.add_argument("--size", type=int, default=32, help="image side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--test_fonts", type=float, default=0.25,
                        help="share of the font families kept for test")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    args = parser.parse_args()

    fonts = find_fonts()
    if len(fonts) < 4:
        sys.exit(f"make_glyphs: found {len(fonts)} fonts under {FONT_ROOTS}; "
                 "run scripts/setup.sh to install the font packages")
    train_fonts, test_fonts, test_families = split_fonts(fonts, args.test_fonts, args.seed)
    jobs = []
    for split, fonts_of_split, count in (("train", train_fonts, args.train),
                                         ("test", test_fonts, args.test)):
        for letter in LETTERS:
            os.makedirs(os.path.join(args.out, split, letter), exist_ok=True)
        step = max(1, -(-count // (4 * args.jobs)))
        for first in range(0, count, step):
            jobs.append((args.out, split, fonts_of_split, count, args.size, args.seed, first,
                         min(count, first + step)))
    with multiprocessing.Pool(args.jobs) as pool:
        written = sum(pool.imap_unordered(write_split, jobs))
    with open(os.path.join(args.out, "README.txt"), "w") as f:
        f.write(f"Made by examples/glyphs/make_glyphs.py {' '.join(sys.argv[1:])}\n"
                f"{args.train} train and {args.test} test images, {args.size}x{args.size} RGB, "
                f"classes {', '.join(LETTERS)}\n"
                f"{len(train_fonts)} training fonts; {len(test_fonts)} test fonts of the families "
                f"{', '.join(test_families)}\n")
    print(f"make_glyphs: wrote {written} images to {args.out} ({len(train_fonts)} training "
          f"fonts, {len(test_fonts)} test fonts: {', '.join(test_families)})")


if __name__ == "__main__":
    main()
