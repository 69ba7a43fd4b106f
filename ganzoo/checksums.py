"""File checksums for the files ganzoo ships (pretrained GANs, the metrics classifier)."""

import hashlib


def sha256_of(path):
    """Hex sha256 of a file, read in 1 MB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
