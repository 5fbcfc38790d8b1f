// Decompression of vectors stored inline compressed, as the type's default storage (main)
// keeps compressible ones. pglz is decoded by util/pglz_decode, which writes words instead
// of bytes and is several times faster than Postgres' decoder on vector data; every
// distance on such a column, and every rerank from the table, decompresses one. Other
// methods (lz4) and anything the decoder refuses go to Postgres, which also reports the
// corruption of a damaged value.
#include "extension/vector/vector_type.h"

#include "util/pglz_decode.h"

extern "C" {
#include "access/toast_compression.h"
}

namespace ruvector::pg {

RuVector* decompress_ruvector(struct varlena* compressed) {
  if (VARDATA_COMPRESSED_GET_COMPRESS_METHOD(compressed) == TOAST_PGLZ_COMPRESSION_ID) {
    const Size raw = VARDATA_COMPRESSED_GET_EXTSIZE(compressed);
    auto* out = static_cast<struct varlena*>(palloc(VARHDRSZ + raw + util::kPglzDecodeSlack));
    const auto* src = reinterpret_cast<const uint8*>(compressed) + VARHDRSZ_COMPRESSED;
    if (util::pglz_decode(src, VARSIZE(compressed) - VARHDRSZ_COMPRESSED,
                          reinterpret_cast<uint8*>(VARDATA(out)), raw)) {
      SET_VARSIZE(out, VARHDRSZ + raw);
      return reinterpret_cast<RuVector*>(out);
    }
    pfree(out);
  }
  return reinterpret_cast<RuVector*>(PG_DETOAST_DATUM(PointerGetDatum(compressed)));
}

}  // namespace ruvector::pg
