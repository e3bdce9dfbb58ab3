"""Read TensorFlow checkpoints (``tf.train.Saver`` V2 "tensor bundles") without TensorFlow.

A checkpoint ``PREFIX`` is two kinds of file:

- ``PREFIX.index``: an immutable sorted table in LevelDB's format (``tensorflow/core/lib/io/table*``): data
  blocks of prefix-compressed ``key -> value`` entries, an index block pointing at them and a 48-byte footer.
  The key ``""`` holds a ``BundleHeaderProto`` (number of shards, byte order); every other key is a tensor
  name and its value a ``BundleEntryProto`` (dtype, shape, shard, offset, size, masked CRC-32C), both
  protocol buffers (``tensorflow/core/protobuf/tensor_bundle.proto``), decoded here by hand.
- ``PREFIX.data-SSSSS-of-NNNNN``: the shards, each tensor's raw little-endian bytes at its offset.

Block and tensor checksums (masked CRC-32C, the Castagnoli polynomial) are verified: a wrong or truncated
file fails with a :class:`~genrekit.errors.GenrekitError` naming the file, never with a silently wrong
array. Only plain numeric tensors are read (no strings, no partitioned variables), which is all a model's
weights need.

>>> reader = CheckpointReader("musicnn/MSD_musicnn/")              # doctest: +SKIP
>>> reader.shape("conv2d/kernel")                                   # doctest: +SKIP
(7, 38, 1, 204)
>>> kernel = reader.read("conv2d/kernel")                           # doctest: +SKIP
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genrekit.errors import GenrekitError

__all__ = ["CheckpointReader", "TensorEntry", "crc32c", "masked_crc32c", "read_checkpoint"]

#: LevelDB's ``kTableMagicNumber``, the last 8 bytes of every table.
TABLE_MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the magic number
BLOCK_TRAILER_SIZE = 5  # compression type (1 byte) + masked CRC-32C (4 bytes)

#: ``tensorflow/core/framework/types.proto`` DataType -> little-endian NumPy dtype (numeric types only).
DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2",
          19: "<f2", 22: "<u4", 23: "<u8"}

# --- CRC-32C ------------------------------------------------------------------------------------------------


def _crc_table() -> np.ndarray:
    poly = np.uint32(0x82F63B78)  # Castagnoli, bit-reflected
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ poly, table >> 1)
    return table.astype(np.uint32)


_TABLE = _crc_table()
_TABLE_LIST = _TABLE.tolist()
_CHUNK = 4096  # bytes per lane of the vectorised CRC; shorter data is done byte by byte


def _advance_zeros(n: int) -> np.ndarray:
    """The register after ``n`` zero bytes, as four byte tables: ``[4, 256]`` uint32 (the map is linear)."""
    basis = np.uint32(1) << np.arange(32, dtype=np.uint32)
    for _ in range(n):
        basis = _TABLE[basis & 0xFF] ^ (basis >> 8)
    bits = (np.arange(256)[:, None] >> np.arange(8)) & 1  # [256, 8]
    tables = np.zeros((4, 256), dtype=np.uint32)
    for k in range(4):
        for j in range(8):
            tables[k] ^= np.where(bits[:, j] == 1, basis[8 * k + j], np.uint32(0))
    return tables


_SHIFT_CHUNK = None  # _advance_zeros(_CHUNK), built on first use


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of ``data``, as in iSCSI, ext4 and LevelDB: ``crc32c(b"123456789") == 0xE3069283``.

    Vectorised with NumPy: the data is cut into lanes of 4096 bytes whose raw CRCs run side by side, then
    combined by advancing the register over each following lane (the register update is linear over GF(2)),
    so a megabyte takes milliseconds rather than a Python loop per byte.
    """
    global _SHIFT_CHUNK
    if len(data) <= 4 * _CHUNK:
        crc, table = 0xFFFFFFFF, _TABLE_LIST
        for byte in bytes(data):
            crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
        return crc ^ 0xFFFFFFFF
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    # Starting the register at 0xFFFFFFFF is the same as XOR-ing 0xFF into the first four bytes and starting
    # at 0; and leading zero bytes leave a zero register at zero, so the front can be padded to whole lanes.
    buf[:4] ^= 0xFF
    lanes = -(-buf.size // _CHUNK)
    padded = np.zeros(lanes * _CHUNK, dtype=np.uint8)
    padded[padded.size - buf.size:] = buf
    columns = np.ascontiguousarray(padded.reshape(lanes, _CHUNK).T).astype(np.uint32)  # [_CHUNK, lanes]
    regs = np.zeros(lanes, dtype=np.uint32)
    for column in columns:
        regs = _TABLE[(regs ^ column) & 0xFF] ^ (regs >> 8)
    if _SHIFT_CHUNK is None:
        _SHIFT_CHUNK = _advance_zeros(_CHUNK)
    shift = _SHIFT_CHUNK
    crc = 0
    for reg in regs.tolist():
        crc = int(shift[0, crc & 0xFF] ^ shift[1, (crc >> 8) & 0xFF] ^ shift[2, (crc >> 16) & 0xFF]
                  ^ shift[3, crc >> 24]) ^ reg
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """LevelDB's and TensorFlow's stored form of a CRC-32C (rotated right by 15 bits, plus a constant), so
    that the CRC of data holding CRCs is not degenerate."""
    crc = crc32c(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


# --- protocol buffers and varints ---------------------------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; returns ``(value, next position)``."""
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 10 bytes")


def _fields(buf: bytes) -> list[tuple[int, int | bytes]]:
    """A protocol buffer message as ``(field number, value)`` pairs: varints as ints, length-delimited
    fields as bytes, fixed32 / fixed64 as unsigned ints."""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value, pos = bytes(buf[pos:pos + length]), pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(buf):
            raise ValueError("truncated protobuf field")
        out.append((number, value))
    return out


@dataclass(frozen=True)
class TensorEntry:
    """One tensor's ``BundleEntryProto``: where its bytes are and what they are.

    Attributes
    ----------
    dtype : int
        TensorFlow ``DataType`` enum (1 = float32, 9 = int64, ...).
    shape : tuple of int
    shard_id, offset, size : int
        The data shard, and the byte range of the tensor in it.
    crc32c : int or None
        The masked CRC-32C of those bytes, when stored.
    sliced : bool
        Whether the tensor is stored in slices (partitioned variables; not readable here).
    """

    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    sliced: bool = False


def _shape(buf: bytes) -> tuple[int, ...]:
    dims = []
    for number, value in _fields(buf):
        if number == 2:  # TensorShapeProto.dim
            size = next((v for n, v in _fields(value) if n == 1), 0)
            dims.append(size - (1 << 64) if size >= 1 << 63 else size)  # int64: -1 is an unknown size
        elif number == 3 and value:
            raise ValueError("tensor of unknown rank")
    return tuple(dims)


def _entry(buf: bytes) -> TensorEntry:
    values = {"dtype": 0, "shape": (), "shard_id": 0, "offset": 0, "size": 0, "crc32c": None, "sliced": False}
    for number, value in _fields(buf):
        if number == 1:
            values["dtype"] = value
        elif number == 2:
            values["shape"] = _shape(value)
        elif number == 3:
            values["shard_id"] = value
        elif number == 4:
            values["offset"] = value
        elif number == 5:
            values["size"] = value
        elif number == 6:
            values["crc32c"] = value
        elif number == 7:
            values["sliced"] = True
    return TensorEntry(**values)


# --- the sorted table ---------------------------------------------------------------------------------------


def _block_handle(buf: bytes, pos: int) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos)
    size, pos = _varint(buf, pos)
    return offset, size, pos


def _block(table: bytes, offset: int, size: int) -> bytes:
    """A block's contents after checking its trailer (uncompressed, CRC)."""
    end = offset + size
    if end + BLOCK_TRAILER_SIZE > len(table):
        raise ValueError("block runs past the end of the file")
    contents, kind = table[offset:end], table[end]
    if kind != 0:
        raise ValueError(f"compressed blocks (type {kind}) are not supported")
    stored = struct.unpack_from("<I", table, end + 1)[0]
    if masked_crc32c(table[offset:end + 1]) != stored:
        raise ValueError(f"block at byte {offset} fails its CRC-32C check")
    return contents


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(key, value)`` entries of a block: each key shares a prefix with the one before it."""
    if len(block) < 4:
        raise ValueError("block too short")
    n_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise ValueError("bad restart array")
    entries, key, pos = [], b"", 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        value_size, pos = _varint(block, pos)
        if shared > len(key) or pos + unshared + value_size > limit:
            raise ValueError("bad block entry")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((key, block[pos:pos + value_size]))
        pos += value_size
    return entries


def _table_entries(table: bytes) -> list[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of a LevelDB-format table, in key order."""
    if len(table) < FOOTER_SIZE:
        raise ValueError("too short for a table footer")
    footer = table[-FOOTER_SIZE:]
    low, high = struct.unpack_from("<II", footer, FOOTER_SIZE - 8)
    if (high << 32) | low != TABLE_MAGIC:
        raise ValueError("no table magic number at the end (not a checkpoint .index file)")
    _, _, pos = _block_handle(footer, 0)  # the metaindex block: unused by tensor bundles
    index_offset, index_size, _ = _block_handle(footer, pos)
    entries = []
    for _, handle in _block_entries(_block(table, index_offset, index_size)):
        offset, size, _ = _block_handle(handle, 0)
        entries.extend(_block_entries(_block(table, offset, size)))
    return entries


# --- the reader ---------------------------------------------------------------------------------------------


class CheckpointReader:
    """The tensors of a TensorFlow V2 checkpoint.

    Parameters
    ----------
    prefix : str or Path
        The checkpoint prefix: ``PREFIX.index`` and ``PREFIX.data-00000-of-00001`` must exist. As in
        TensorFlow, a prefix ending in ``/`` names files ``DIR/.index`` and so on (musicnn's checkpoints).
    verify : bool
        Check each tensor's CRC-32C when it is read (the table's blocks are always checked).

    Raises
    ------
    GenrekitError
        When the index is missing, truncated or corrupt, or uses something this reader does not support.
    """

    def __init__(self, prefix, verify: bool = True):
        self.prefix = str(prefix)
        self.verify = verify
        index = Path(self.prefix + ".index")
        try:
            table = index.read_bytes()
        except OSError as exc:
            raise GenrekitError(f"{index}: cannot read the checkpoint index ({exc.strerror or exc})") from None
        try:
            entries = _table_entries(table)
            header = dict(_fields(entries[0][1])) if entries and entries[0][0] == b"" else None
            if header is None:
                raise ValueError("no bundle header (the empty key)")
            self.entries = {key.decode("utf-8"): _entry(value) for key, value in entries[1:]}
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            raise GenrekitError(f"{index}: not a readable TensorFlow checkpoint index ({exc})") from None
        if header.get(2, 0) != 0:
            raise GenrekitError(f"{index}: big-endian checkpoints are not supported")
        self.num_shards = header.get(1, 1)

    def names(self) -> list[str]:
        """Every tensor name, sorted (as stored)."""
        return list(self.entries)

    def __contains__(self, name: str) -> bool:
        return name in self.entries

    def shape(self, name: str) -> tuple[int, ...]:
        return self._get(name).shape

    def _get(self, name: str) -> TensorEntry:
        try:
            return self.entries[name]
        except KeyError:
            raise GenrekitError(f"{self.prefix}.index: no tensor named {name!r}") from None

    def shard_path(self, shard_id: int) -> Path:
        return Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")

    def read(self, name: str) -> np.ndarray:
        """One tensor as a NumPy array of its stored dtype and shape (native byte order, a copy).

        Raises
        ------
        GenrekitError
            When the tensor is absent, of an unsupported dtype, sliced, or its bytes are short or fail the
            checksum.
        """
        entry = self._get(name)
        where = f"{self.prefix}.index: tensor {name!r}"
        if entry.sliced:
            raise GenrekitError(f"{where} is stored in slices (a partitioned variable); not supported")
        if entry.dtype not in DTYPES:
            raise GenrekitError(f"{where} has TensorFlow dtype {entry.dtype}; only numeric tensors are supported")
        dtype = np.dtype(DTYPES[entry.dtype])
        count = int(np.prod(entry.shape, dtype=np.int64))
        if count < 0 or count * dtype.itemsize != entry.size:
            raise GenrekitError(f"{where}: shape {entry.shape} does not match its {entry.size} bytes")
        path = self.shard_path(entry.shard_id)
        try:
            with open(path, "rb") as f:
                f.seek(entry.offset)
                data = f.read(entry.size)
        except OSError as exc:
            raise GenrekitError(f"{path}: cannot read the checkpoint data ({exc.strerror or exc})") from None
        if len(data) != entry.size:
            raise GenrekitError(f"{path}: truncated; tensor {name!r} needs bytes {entry.offset}.."
                                f"{entry.offset + entry.size}, the file has {path.stat().st_size}")
        if self.verify and entry.crc32c is not None and masked_crc32c(data) != entry.crc32c:
            raise GenrekitError(f"{path}: tensor {name!r} fails its CRC-32C check (corrupt file)")
        return np.frombuffer(data, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(entry.shape)


def read_checkpoint(prefix, names=None, verify: bool = True) -> dict[str, np.ndarray]:
    """Tensors of a checkpoint by name: all of them, or those in ``names``."""
    reader = CheckpointReader(prefix, verify=verify)
    return {name: reader.read(name) for name in (reader.names() if names is None else names)}
