"""genwav.py DIR N [SECONDS]: writes N distinct WAV files of noise (16 kHz,
mono, 16-bit) with RIFF INFO tags, 100 to a folder: DIR/dNNN/tNNNNN.wav."""
import os
import random
import struct
import sys


def chunk(tag, data):
    pad = b"\0" if len(data) % 2 else b""
    return tag + struct.pack("<I", len(data)) + data + pad


def info(tags):
    body = b"INFO"
    for k, v in tags:
        body += chunk(k, v.encode() + b"\0")
    return chunk(b"LIST", body)


def wav(pcm, rate, tags):
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + chunk(b"fmt ", fmt) + info(tags) + chunk(b"data", pcm)
    return chunk(b"RIFF", body)


def main():
    root, n = sys.argv[1], int(sys.argv[2])
    secs = float(sys.argv[3]) if len(sys.argv) > 3 else 0.5
    rate = 16000
    nbytes = 2 * int(rate * secs)
    for i in range(n):
        d = os.path.join(root, "d%03d" % (i // 100))
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        # White noise seeded by i: distinct bytes, so distinct hashes.
        pcm = random.Random(i).randbytes(nbytes)
        tags = [(b"INAM", "Noise %d" % i), (b"IART", "Artist %d" % (i // 100)),
                (b"IPRD", "Album %d" % (i // 100)), (b"ICRD", "2024")]
        with open(os.path.join(d, "t%05d.wav" % i), "wb") as f:
            f.write(wav(pcm, rate, tags))


main()
