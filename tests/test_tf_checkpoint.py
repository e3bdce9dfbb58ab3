"""genrekit.models.tf_checkpoint: CRC-32C, a hand-built checkpoint (table, protobufs, data shard) and, when
the musicnn wheel is at hand (GENREKIT_MUSICNN_WHEEL), a real TensorFlow-written checkpoint."""

from __future__ import annotations

import os
import struct

import numpy as np
import pytest

from genrekit.errors import GenrekitError
from genrekit.models import musicnn
from genrekit.models.tf_checkpoint import TABLE_MAGIC, CheckpointReader, crc32c, masked_crc32c, read_checkpoint

# --- CRC-32C -------------------------------------------------------------------------------------------------


def _crc32c_bytewise(data: bytes) -> int:
    """The textbook bit-at-a-time CRC-32C, independent of the reader's tables."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def test_crc32c_known_values():
    # RFC 3720 (iSCSI) appendix B.4 test vectors, and the usual check value
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0
    assert crc32c(bytes(32)) == 0x8A9136AA
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(bytes(range(32))) == 0x46DD794E


@pytest.mark.parametrize("size", [1, 3, 4, 5, 16384, 16385, 4096 * 7 + 13])
def test_crc32c_vectorised_path_matches_the_bitwise_definition(size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert crc32c(data) == _crc32c_bytewise(data)


def test_masked_crc_is_leveldbs_rotation_plus_constant():
    crc = crc32c(b"foo")
    assert masked_crc32c(b"foo") == ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF
    assert masked_crc32c(b"foo") != crc


# --- a checkpoint written by hand ----------------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n > 0x7F else 0))
        n >>= 7
        if not n:
            return bytes(out)


def _field(number: int, value) -> bytes:
    if isinstance(value, bytes):
        return _varint(number << 3 | 2) + _varint(len(value)) + value
    return _varint(number << 3) + _varint(value)


def _block(entries, restart_interval=2) -> bytes:
    """A LevelDB block: prefix-compressed entries, a restart point every ``restart_interval`` entries."""
    out, restarts, previous = bytearray(), [], b""
    for i, (key, value) in enumerate(entries):
        shared = 0
        if i % restart_interval == 0:
            restarts.append(len(out))
        else:
            while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
                shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value)) + key[shared:] + value
        previous = key
    restarts = restarts or [0]
    return bytes(out) + b"".join(struct.pack("<I", r) for r in restarts) + struct.pack("<I", len(restarts))


def _table(entries, per_block=2) -> bytes:
    """A LevelDB table: data blocks of ``per_block`` entries, an empty metaindex, the index, the footer."""
    out = bytearray()

    def add(contents: bytes) -> bytes:
        handle = _varint(len(out)) + _varint(len(contents))
        out.extend(contents + b"\x00" + struct.pack("<I", masked_crc32c(contents + b"\x00")))
        return handle

    index = [(chunk[-1][0], add(_block(chunk))) for chunk in
             (entries[i:i + per_block] for i in range(0, len(entries), per_block))]
    footer = add(_block([])) + add(_block(index))
    out += footer.ljust(40, b"\x00") + struct.pack("<II", TABLE_MAGIC & 0xFFFFFFFF, TABLE_MAGIC >> 32)
    return bytes(out)


TENSORS = {
    "dense/kernel": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "dense/bias": np.array([-1.5, 2.25], dtype=np.float64),
    "global_step": np.array(123456789012, dtype=np.int64),
    "model/conv/kernel": np.random.default_rng(0).standard_normal((3, 2, 1, 4)).astype(np.float32),
    "model/conv/kernel_1": np.arange(5, dtype=np.int32),
}
DTYPE_ENUM = {np.float32: 1, np.float64: 2, np.int32: 3, np.int64: 9}


def write_checkpoint(prefix: str, tensors=TENSORS) -> None:
    """A one-shard TensorFlow V2 checkpoint with ``tensors``, written as tensor_bundle.cc does."""
    data, entries = bytearray(), []
    for name in sorted(tensors):
        array = tensors[name]
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        shape = b"".join(_field(2, _field(1, n)) for n in array.shape)
        entry = (_field(1, DTYPE_ENUM[array.dtype.type]) + _field(2, shape) + _field(4, len(data))
                 + _field(5, len(raw)) + _varint(6 << 3 | 5) + struct.pack("<I", masked_crc32c(raw)))
        entries.append((name.encode(), entry))
        data += raw
    header = _field(1, 1) + _field(3, _field(1, 1))  # num_shards 1, little endian (default), version
    with open(prefix + ".index", "wb") as f:
        f.write(_table([(b"", header)] + entries))
    with open(prefix + ".data-00000-of-00001", "wb") as f:
        f.write(data)


@pytest.fixture
def checkpoint(tmp_path) -> str:
    prefix = str(tmp_path / "model.ckpt")
    write_checkpoint(prefix)
    return prefix


def test_reads_every_tensor_of_a_hand_built_checkpoint(checkpoint):
    reader = CheckpointReader(checkpoint)
    assert reader.names() == sorted(TENSORS)
    assert "dense/bias" in reader and "nope" not in reader
    for name, expected in TENSORS.items():
        assert reader.shape(name) == expected.shape
        got = reader.read(name)
        assert got.dtype == expected.dtype and got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    assert read_checkpoint(checkpoint, ["global_step"]) == {"global_step": 123456789012}


def test_a_prefix_ending_in_a_slash_names_dot_files(tmp_path):
    folder = tmp_path / "MSD_like"
    folder.mkdir()
    write_checkpoint(f"{folder}/")
    assert (folder / ".index").is_file()
    np.testing.assert_array_equal(read_checkpoint(f"{folder}/")["dense/kernel"], TENSORS["dense/kernel"])


def test_a_corrupt_tensor_fails_its_checksum_naming_the_file(checkpoint):
    reader = CheckpointReader(checkpoint)
    entry = reader.entries["model/conv/kernel"]
    path = reader.shard_path(0)
    data = bytearray(path.read_bytes())
    data[entry.offset + 5] ^= 0x01
    path.write_bytes(bytes(data))
    np.testing.assert_array_equal(reader.read("dense/bias"), TENSORS["dense/bias"])  # the rest still reads
    with pytest.raises(GenrekitError, match="model/conv/kernel.*CRC-32C"):
        reader.read("model/conv/kernel")
    assert CheckpointReader(checkpoint, verify=False).read("model/conv/kernel").shape == (3, 2, 1, 4)


def test_a_truncated_data_shard_is_reported(checkpoint):
    path = CheckpointReader(checkpoint).shard_path(0)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(GenrekitError, match="truncated"):
        CheckpointReader(checkpoint).read("model/conv/kernel_1")


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "text"])
def test_a_damaged_index_is_refused_naming_it(checkpoint, damage):
    index = checkpoint + ".index"
    table = bytearray(open(index, "rb").read())
    if damage == "flip":
        table[20] ^= 0x40  # inside the first data block: its block CRC no longer matches
    elif damage == "truncate":
        table = table[: len(table) // 2]
    elif damage == "empty":
        table = bytearray()
    else:
        table = bytearray(b"model_checkpoint_path: 'x'\n" * 3)
    open(index, "wb").write(bytes(table))
    with pytest.raises(GenrekitError, match=r"model\.ckpt\.index: not a readable TensorFlow checkpoint index"):
        CheckpointReader(checkpoint)


def test_missing_files_and_names(tmp_path, checkpoint):
    with pytest.raises(GenrekitError, match=r"nothing\.index: cannot read"):
        CheckpointReader(tmp_path / "nothing")
    reader = CheckpointReader(checkpoint)
    with pytest.raises(GenrekitError, match="no tensor named 'nope'"):
        reader.read("nope")
    os.remove(reader.shard_path(0))
    with pytest.raises(GenrekitError, match=r"data-00000-of-00001: cannot read"):
        reader.read("dense/bias")


# --- musicnn's own checkpoints (written by TensorFlow) ---------------------------------------------------------


def test_reads_musicnns_tensorflow_checkpoint(musicnn_wheel, tmp_path):
    reader = CheckpointReader(musicnn.extract_checkpoint(musicnn_wheel, "MSD_musicnn", tmp_path))
    names = reader.names()
    assert len(names) == 150  # 66 variables, two Adam slots each, and Adam's two beta powers
    assert reader.shape("conv2d/kernel") == (7, 38, 1, 204)
    assert reader.shape("conv2d_2/kernel") == (128, 1, 1, 51)
    assert reader.shape("conv2d_5/kernel") == (7, 561, 1, 64)
    assert reader.shape("dense/kernel") == (1506, 200)
    assert reader.shape("batch_normalization_9/moving_variance") == (1506,)
    tensors = {name: reader.read(name) for name in names}  # every checksum verified
    assert all(t.dtype == np.float32 for t in tensors.values())
    assert sum(t.nbytes for t in tensors.values()) == reader.shard_path(0).stat().st_size
    assert (tensors["batch_normalization_9/moving_variance"] > 0).all()
