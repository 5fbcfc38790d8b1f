#!/usr/bin/env python3
"""Damages one thing in a rabitq index file, for tests/server/rabitq_corrupt.sh.

usage: rabitq_corrupt.py FILE CASE    (the server must be stopped)

Offsets follow extension/rabitq/rabitq.h: the page header's line pointers from byte 24
(lp_off: 15 bits, lp_flags: 2, lp_len: 15), the special space's next link at 8184 and page
type at 8188; the metapage's RabitqMeta at 24 (projection_start at +80, projection_rank at
+84); a directory entry is 32 bytes from 24; a code
tuple has vector_block at +8, vector_offset at +12 and, with bits > 1, its ExRef after the
code words; a vector chunk has next_block at +0 and count at +6.
"""
import struct
import sys

PAGE = 8192
CODES, VECTORS = 4, 5


def u16(b, at):
    return struct.unpack_from("<H", b, at)[0]


def u32(b, at):
    return struct.unpack_from("<I", b, at)[0]


def page(data, block):
    return block * PAGE


def line_pointer(data, block, offset):
    at = page(data, block) + 24 + 4 * (offset - 1)
    word = u32(data, at)
    return at, word & 0x7FFF, (word >> 15) & 3, word >> 17


def set_line_pointer(data, block, offset, off, flags, length):
    at = page(data, block) + 24 + 4 * (offset - 1)
    struct.pack_into("<I", data, at, off | (flags << 15) | (length << 17))


def item(data, block, offset):
    _, off, _, _ = line_pointer(data, block, offset)
    return page(data, block) + off


def main():
    path, case = sys.argv[1], sys.argv[2]
    data = bytearray(open(path, "rb").read())
    nblocks = len(data) // PAGE
    padded_dim = u32(data, 24 + 12)
    directory = u32(data, 24 + 36)
    entry = page(data, directory) + 24  # list 0
    code_head, vector_head = u32(data, entry), u32(data, entry + 8)
    first = item(data, code_head, 1)  # the first row of list 0
    vector_block, vector_offset = u32(data, first + 8), u16(data, first + 12)
    ex_ref = first + 32 + padded_dim // 8
    ex_block, ex_offset = u32(data, ex_ref), u16(data, ex_ref + 4)
    # An index that reranks from the table has no vector pages.
    chunk = item(data, vector_block, vector_offset) if vector_block < nblocks else None
    special = page(data, code_head) + 8184

    if case == "code_lp_offset":  # an item that starts past the special space
        _, off, flags, length = line_pointer(data, code_head, 2)
        set_line_pointer(data, code_head, 2, 8176, flags, length)
    elif case == "code_lp_length":
        _, off, flags, length = line_pointer(data, code_head, 2)
        set_line_pointer(data, code_head, 2, off, flags, 7)
    elif case == "code_lp_unused":
        _, off, flags, length = line_pointer(data, code_head, 3)
        set_line_pointer(data, code_head, 3, off, 0, length)
    elif case == "code_lp_overlap":  # more line pointers than tuples fit, all to one item
        at, off, flags, length = line_pointer(data, code_head, 1)
        base = page(data, code_head)
        count = 1500
        for n in range(1, count + 1):
            set_line_pointer(data, code_head, n, off, flags, length)
        struct.pack_into("<HH", data, base + 12, 24 + 4 * count, off)  # pd_lower, pd_upper
    elif case == "code_page_type":
        struct.pack_into("<H", data, special + 4, VECTORS)
    elif case == "code_link_past_end":
        struct.pack_into("<I", data, special, nblocks + 1000)
    elif case == "code_link_cycle":
        struct.pack_into("<I", data, special, code_head)
    elif case == "code_link_to_meta":
        struct.pack_into("<I", data, special, 0)
    elif case == "vector_ref_past_end":
        struct.pack_into("<I", data, first + 8, 0xFFFFFF00)
    elif case == "ex_ref_offset":
        struct.pack_into("<H", data, ex_ref + 4, 999)
    elif case == "ex_ref_to_code_page":
        struct.pack_into("<I", data, ex_ref, code_head)
    elif case == "ex_lp_offset":  # inside the page header
        _, off, flags, length = line_pointer(data, ex_block, ex_offset)
        set_line_pointer(data, ex_block, ex_offset, 8, flags, length)
    elif case == "chunk_lp_length":
        _, off, flags, length = line_pointer(data, vector_block, vector_offset)
        set_line_pointer(data, vector_block, vector_offset, off, flags, length + 400)
    elif case == "chunk_count":
        struct.pack_into("<H", data, chunk + 6, 9999)
    elif case == "chunk_link_past_end":
        struct.pack_into("<I", data, chunk, nblocks + 5)
    elif case == "vector_page_type":
        struct.pack_into("<H", data, page(data, vector_head) + 8188, CODES)
    elif case == "special_offset":
        struct.pack_into("<H", data, page(data, code_head) + 16, 8000)
    elif case == "meta_magic":
        data[24] ^= 0xFF
    elif case == "meta_dim":
        struct.pack_into("<I", data, 24 + 8, 100)
    elif case == "meta_lists":
        struct.pack_into("<I", data, 24 + 16, 0)
    elif case == "meta_directory":
        struct.pack_into("<I", data, 24 + 36, nblocks + 50)
    elif case == "meta_centroids_to_codes":
        struct.pack_into("<I", data, 24 + 32, code_head)
    elif case == "meta_projection_past_end":  # the centroids' subspace (projection_start)
        struct.pack_into("<I", data, 24 + 80, nblocks + 50)
    elif case == "meta_projection_to_codes":
        struct.pack_into("<I", data, 24 + 80, code_head)
    elif case == "meta_projection_rank":  # not a multiple of 4
        struct.pack_into("<I", data, 24 + 84, 6)
    elif case == "directory_head_past_end":
        struct.pack_into("<I", data, entry, nblocks + 7)
    else:
        sys.exit("unknown case " + case)
    open(path, "wb").write(data)


if __name__ == "__main__":
    main()
