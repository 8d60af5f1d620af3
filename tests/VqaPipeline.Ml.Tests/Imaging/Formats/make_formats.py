#!/usr/bin/python3
"""Writes the small images of this folder and what transformers' load_image makes of each, for ImageFormatTests.

    /usr/bin/python3 make_formats.py   (Debian's python3-pil: Pillow 9.4, the version of the shared fixtures)

load_image is PIL.Image.open, PIL.ImageOps.exif_transpose, then .convert("RGB"). For each input NAME the script writes
expected/NAME.rgb (the RGB bytes, row by row) and an entry in manifest.json (size, the mode Pillow opened, or the error
load_image raised). The YCCK JPEG and the interlaced PNG come from ImageMagick 6 (convert-im6.q16), as Pillow cannot
write them; the 16-bit RGB, gray+alpha and RGBA PNGs from the small PNG writer below, for the same reason.
"""
import hashlib
import io
import json
import os
import struct
import subprocess
import zlib

import PIL
from PIL import Image, ImageOps, PngImagePlugin

HERE = os.path.dirname(os.path.abspath(__file__))
WIDTH, HEIGHT = 12, 8  # not square, so that every orientation lands on its own size and order


def scene(x, y):
    """A pattern whose every pixel differs from its neighbours and whose corners differ from each other."""
    return (min(255, 20 * x + 3), min(255, 30 * y + 7), (37 * x + 53 * y + 11 * x * y) % 256)


def rgb_scene():
    image = Image.new('RGB', (WIDTH, HEIGHT))
    image.putdata([scene(x, y) for y in range(HEIGHT) for x in range(WIDTH)])
    return image


def png_chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data) & 0xFFFFFFFF)


def write_png16(path, color_type, channels, sample):
    """A 16-bit PNG (filter 0 on every row) whose channel c of pixel (x, y) is sample(x, y, c)."""
    rows = b''.join(b'\x00' + b''.join(struct.pack('>H', sample(x, y, c)) for x in range(WIDTH) for c in range(channels))
                    for y in range(HEIGHT))
    with open(path, 'wb') as target:
        target.write(b'\x89PNG\r\n\x1a\n')
        target.write(png_chunk(b'IHDR', struct.pack('>IIBBBBB', WIDTH, HEIGHT, 16, color_type, 0, 0, 0)))
        target.write(png_chunk(b'IDAT', zlib.compress(rows, 9)))
        target.write(png_chunk(b'IEND', b''))


def sample16(x, y, c):
    # Low values (under 256) and high ones side by side: Pillow treats 16-bit gray as 32-bit integers and clips them.
    value = (x * 5471 + y * 9533 + c * 20011) % 65536
    return value if (x + y) % 3 else value % 256


def exif_with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def app1_jpeg(path, payload, **save):
    """The scene as a JPEG with an APP1 segment, after the JFIF APP0, that carries payload as it is."""
    buffer = io.BytesIO()
    rgb_scene().save(buffer, 'JPEG', quality=95, **save)
    data = buffer.getvalue()
    assert data[2:4] == b'\xff\xe0'
    after_app0 = 4 + struct.unpack('>H', data[4:6])[0]
    segment = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
    with open(path, 'wb') as target:
        target.write(data[:after_app0] + segment + data[after_app0:])


def tiff_orientation(endian, typ, count, value):
    """EXIF data ("Exif\\0\\0" + TIFF) whose IFD0 holds one Orientation entry of the given type and raw value."""
    order = '<' if endian == 'II' else '>'
    head = (b'II*\x00' if endian == 'II' else b'MM\x00*') + struct.pack(order + 'I', 8)
    inline = len(value) <= 4
    field = value.ljust(4, b'\x00') if inline else struct.pack(order + 'I', 8 + 2 + 12 + 4)
    ifd = struct.pack(order + 'H', 1) + struct.pack(order + 'HHI', 0x0112, typ, count) + field + struct.pack(order + 'I', 0)
    return b'Exif\x00\x00' + head + ifd + (b'' if inline else value)


def gif_with_smaller_first_frame(path, **save):
    """A 12x8 GIF whose first frame covers only a 6x4 block at (4, 3): Pillow's own GIF, screen and offset changed."""
    frame = Image.new('P', (6, 4))
    frame.putpalette([value for i in range(16) for value in ((i * 16 + 5) % 256, (i * 40 + 9) % 256, (255 - i * 13) % 256)])
    frame.putdata([(x + y + 1) % 16 for y in range(4) for x in range(6)])
    buffer = io.BytesIO()
    frame.save(buffer, 'GIF', **save)
    data = bytearray(buffer.getvalue())
    data[6:10] = struct.pack('<HH', WIDTH, HEIGHT)
    descriptor = data.index(b'\x2c\x00\x00\x00\x00\x06\x00\x04\x00')
    data[descriptor + 1:descriptor + 5] = struct.pack('<HH', 4, 3)
    with open(path, 'wb') as target:
        target.write(bytes(data))


def make_inputs():
    files = {}

    def add(name, note):
        files[name] = note
        return os.path.join(HERE, name)

    # GIF: a palette whose transparent index has a colour of its own; load_image keeps that colour.
    palette_image = Image.new('P', (WIDTH, HEIGHT))
    palette = [value for i in range(16) for value in ((i * 16 + 5) % 256, (i * 40 + 9) % 256, (255 - i * 13) % 256)]
    palette_image.putpalette(palette)
    palette_image.putdata([(x + 2 * y) % 16 for y in range(HEIGHT) for x in range(WIDTH)])
    palette_image.save(add('gif-transparent-index.gif', 'GIF, palette index 3 transparent (its colour is not black)'),
                       transparency=3)

    gif_with_smaller_first_frame(add('gif-small-first-frame-transparent.gif',
                                     'GIF whose first frame covers part of the screen, with a transparent index'),
                                 transparency=2)
    gif_with_smaller_first_frame(add('gif-small-first-frame.gif', 'GIF whose first frame covers part of the screen'))

    # PNG palette with tRNS: several entries partly or fully transparent.
    palette_image.save(add('png-palette-trns.png', 'PNG palette with tRNS (alpha 0, 128 and 255 entries)'),
                       transparency=bytes([0, 128, 255, 0, 64] + [255] * 11))

    # JPEG CMYK (Pillow writes the Adobe marker, transform 0, inverted values) and YCCK (Adobe transform 2).
    cmyk = Image.new('CMYK', (WIDTH, HEIGHT))
    cmyk.putdata([(20 * x, 30 * y, (x * y * 9) % 256, (x + y) * 12) for y in range(HEIGHT) for x in range(WIDTH)])
    cmyk_path = add('jpeg-cmyk-adobe.jpg', 'JPEG CMYK with an Adobe APP14 marker (transform 0)')
    cmyk.save(cmyk_path, quality=95)
    subprocess.check_call(['convert-im6.q16', cmyk_path, '-define', 'jpeg:colorspace=5', '-quality', '95',
                           add('jpeg-ycck-adobe.jpg', 'JPEG YCCK with an Adobe APP14 marker (transform 2)')])

    # 16-bit PNGs.
    gray16 = Image.new('I;16', (WIDTH, HEIGHT))
    gray16.putdata([sample16(x, y, 0) for y in range(HEIGHT) for x in range(WIDTH)])
    gray16_path = add('png-gray16.png', '16-bit grayscale PNG, values above and below 255')
    gray16.save(gray16_path)
    subprocess.check_call(['convert-im6.q16', gray16_path, '-interlace', 'PNG', '-define', 'png:bit-depth=16',
                           '-define', 'png:color-type=0',
                           add('png-gray16-interlaced.png', '16-bit grayscale PNG, Adam7-interlaced (ImageMagick)')])
    write_png16(add('png-rgb16.png', '16-bit RGB PNG'), 2, 3, sample16)
    write_png16(add('png-gray-alpha16.png', '16-bit gray + alpha PNG'), 4, 2, sample16)
    write_png16(add('png-rgba16.png', '16-bit RGBA PNG'), 6, 4, sample16)

    # EXIF orientations 1-8 in a JPEG; 6 also in a PNG eXIf chunk and in a WebP EXIF chunk.
    for orientation in range(1, 9):
        rgb_scene().save(add('jpeg-exif-orientation-%d.jpg' % orientation, 'JPEG, EXIF Orientation %d' % orientation),
                         quality=95, exif=exif_with_orientation(orientation))
    rgb_scene().save(add('png-exif-orientation-6.png', 'PNG with an eXIf chunk, Orientation 6'), exif=exif_with_orientation(6))
    for name, endian, typ, count, value, note in [
        ('long', 'II', 4, 1, struct.pack('<I', 6), 'as a LONG'),
        ('rational', 'II', 5, 1, struct.pack('<II', 12, 2), 'as the RATIONAL 12/2'),
        ('byte', 'II', 1, 1, b'\x06', 'as a BYTE, which Pillow reads as bytes and ignores'),
        ('big-endian', 'MM', 3, 1, struct.pack('>H', 6), 'big-endian'),
        ('two-values', 'II', 3, 2, struct.pack('<HH', 6, 3), 'with two values, the first counts'),
    ]:
        app1_jpeg(add('jpeg-exif-orientation-6-%s.jpg' % name, 'JPEG, EXIF Orientation 6 %s' % note),
                  tiff_orientation(endian, typ, count, value))
    app1_jpeg(add('jpeg-exif-orientation-9.jpg', 'JPEG, EXIF Orientation 9 (no such orientation)'),
              tiff_orientation('II', 3, 1, struct.pack('<H', 9)))
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description xmlns:tiff="http://ns.adobe.com/tiff/1.0/" tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>')
    info = PngImagePlugin.PngInfo()
    info.add_itxt('XML:com.adobe.xmp', xmp, zip=True)
    rgb_scene().save(add('png-xmp-orientation-6.png', 'PNG without EXIF, tiff:Orientation 6 in its XMP (iTXt)'), pnginfo=info)
    raw = exif_with_orientation(6).hex()
    info = PngImagePlugin.PngInfo()
    info.add_text('Raw profile type exif', '\nexif\n%8d\n%s\n' % (len(raw) // 2, raw), zip=True)
    rgb_scene().save(add('png-raw-profile-exif.png', 'PNG with ImageMagick\'s "Raw profile type exif" text, Orientation 6'),
                     pnginfo=info)
    rgb_scene().save(add('webp-exif-orientation-6.webp', 'lossless WebP with an EXIF chunk, Orientation 6'),
                     lossless=True, exif=exif_with_orientation(6))

    # WebP.
    rgb_scene().save(add('webp-lossy.webp', 'lossy WebP (VP8)'), quality=90)
    rgb_scene().save(add('webp-lossless.webp', 'lossless WebP (VP8L)'), lossless=True)
    rgba = rgb_scene().convert('RGBA')
    rgba.putalpha(Image.new('L', (WIDTH, HEIGHT), 90))
    rgba.save(add('webp-lossless-alpha.webp', 'lossless WebP with alpha (dropped by convert("RGB"))'), lossless=True)

    # Broken EXIF blocks.
    app1_jpeg(add('jpeg-broken-exif-header.jpg', 'JPEG whose EXIF block is not TIFF data'), b'Exif\x00\x00NOT TIFF DATA AT ALL')
    app1_jpeg(add('jpeg-broken-exif-ifd.jpg', 'JPEG whose EXIF IFD offset points past the block'),
              b'Exif\x00\x00II*\x00' + struct.pack('<I', 4000) + b'\x00' * 8)
    app1_jpeg(add('jpeg-broken-exif-header-dpi.jpg', 'JPEG with a JFIF resolution in dpi whose EXIF block is not TIFF data'),
              b'Exif\x00\x00NOT TIFF DATA AT ALL', dpi=(72, 72))
    app1_jpeg(add('jpeg-exif-header-cut-short.jpg', 'JPEG whose EXIF block ends inside the TIFF header'), b'Exif\x00\x00II*\x00\x08\x00')
    rgb_scene().save(add('png-broken-exif.png', 'PNG whose eXIf chunk is not TIFF data'), exif=b'Exif\x00\x00NOT TIFF DATA')
    truncated = exif_with_orientation(6)
    app1_jpeg(add('jpeg-truncated-exif.jpg', 'JPEG whose EXIF block (Orientation 6) is cut short inside its IFD'),
              b'Exif\x00\x00' + truncated[:14])
    return files


def load_image(path):
    """transformers.image_utils.load_image for a local file."""
    image = Image.open(path)
    mode = image.mode
    image = ImageOps.exif_transpose(image)
    return mode, image.convert('RGB')


def main():
    os.makedirs(os.path.join(HERE, 'expected'), exist_ok=True)
    entries = []
    for name, note in sorted(make_inputs().items()):
        path = os.path.join(HERE, name)
        entry = dict(file=name, note=note, sha256=hashlib.sha256(open(path, 'rb').read()).hexdigest())
        try:
            mode, image = load_image(path)
        except Exception as error:  # load_image fails: so must the loader
            entry['error'] = '%s: %s' % (type(error).__name__, error)
        else:
            data = image.tobytes()
            with open(os.path.join(HERE, 'expected', name + '.rgb'), 'wb') as target:
                target.write(data)
            entry.update(pillow_mode=mode, width=image.width, height=image.height, expected='expected/' + name + '.rgb')
        entries.append(entry)
    manifest = dict(produced_by='make_formats.py', pillow=PIL.__version__, load_image='PIL.Image.open -> '
                    'PIL.ImageOps.exif_transpose -> .convert("RGB")', images=entries)
    with open(os.path.join(HERE, 'manifest.json'), 'w') as target:
        json.dump(manifest, target, indent=1)
        target.write('\n')
    for entry in entries:
        print(entry['file'], entry.get('pillow_mode'), entry.get('width'), entry.get('height'), entry.get('error', ''))


if __name__ == '__main__':
    main()
