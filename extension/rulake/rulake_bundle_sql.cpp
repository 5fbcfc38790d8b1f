// Bundles from SQL: rulake.publish_bundle and rulake.verify_bundle, and the path and URL
// checks rulake.register runs. Server-side paths are confined to rulake.bundle_root.
#include "extension/boundary.h"

#include <string>

#include "bundle/http_fetch.h"
#include "bundle/paths.h"
#include "bundle/publish.h"
#include "bundle/publish_options.h"
#include "bundle/sidecar_json.h"
#include "bundle/verify.h"
#include "extension/rulake/rulake_source.h"

extern "C" {
#include "catalog/pg_authid.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "utils/acl.h"
#include "utils/jsonb.h"
}

namespace rl = ruvector::pg::rulake;
namespace bundle = ::ruvector::bundle;

namespace {

char* confined_path(const char* user_path) {
  const char* root = rl::bundle_root == nullptr ? "" : rl::bundle_root;
  char path[MAXPGPATH];
  ruvector::pg::guard([&] {
    std::string p = bundle::confine(root, user_path);
    if (p.size() >= sizeof(path)) throw bundle::PathError("bundle path is too long");
    strlcpy(path, p.c_str(), sizeof(path));
  });
  return pstrdup(path);
}

void require_role(Oid role, const char* role_name, const char* what) {
  if (superuser() || has_privs_of_role(GetUserId(), role)) return;
  ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied to %s", what),
                  errdetail("Only superusers and members of %s may %s.", role_name, what)));
}

Datum json_to_jsonb(const char* json) {
  return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

// The options jsonb as UTF-8 JSON text, which the core parses: the sidecar is UTF-8
// whatever the database encoding.
char* options_json(Jsonb* options) {
  char* text = JsonbToCString(nullptr, &options->root, VARSIZE(options));
  return pg_server_to_any(text, static_cast<int>(strlen(text)), PG_UTF8);
}

}  // namespace

RUVECTOR_FUNCTION(rulake_check_bundle_path) {
  char* path = confined_path(text_to_cstring(PG_GETARG_TEXT_PP(0)));
  PG_RETURN_TEXT_P(cstring_to_text(path));
}

RUVECTOR_FUNCTION(rulake_verify_bundle) {
  require_role(ROLE_PG_READ_SERVER_FILES, "pg_read_server_files", "verify bundles");
  char* dir = confined_path(text_to_cstring(PG_GETARG_TEXT_PP(0)));
  const char* root = rl::bundle_root == nullptr ? "" : rl::bundle_root;
  char* json = ruvector::pg::guard([&] {
    bundle::ReadOptions options;
    options.bundle_root = root;
    // The verified fields, plus "valid" (an invalid bundle raises instead) and what the
    // witness authenticates.
    std::string text = bundle::verification_json(bundle::verify_bundle_or_throw(dir, options));
    return ruvector::pg::pg_call([&] { return pstrdup(text.c_str()); });
  });
  PG_RETURN_DATUM(json_to_jsonb(json));
}

RUVECTOR_FUNCTION(rulake_publish_bundle) {
  require_role(ROLE_PG_WRITE_SERVER_FILES, "pg_write_server_files", "publish bundles");
  char* name = text_to_cstring(PG_GETARG_TEXT_PP(0));
  char* dir = confined_path(text_to_cstring(PG_GETARG_TEXT_PP(1)));
  // The 0.4.0 definition had no options argument; the library may be newer than the SQL
  // definitions until ALTER EXTENSION ruvector UPDATE runs.
  char* options_text = PG_NARGS() > 2 ? options_json(PG_GETARG_JSONB_P(2)) : pstrdup("{}");
  // Checked before any row is read, and applied below: no C++ object may live in this
  // frame across the Postgres calls in between.
  ruvector::pg::guard([&] {
    bundle::BundleMeta checked;
    bundle::apply_publish_options(options_text, &checked);
  });
  rl::Collection* c = rl::require_collection(name);
  rl::check_read_access(*c);
  // One publisher per directory: cleanup removes every leftover temp file in it.
  uint64 hash = hash_bytes_extended(reinterpret_cast<const unsigned char*>(dir), strlen(dir), 0);
  DirectFunctionCall1(pg_advisory_xact_lock_int8, Int64GetDatum(static_cast<int64>(hash)));

  rl::BundleRows rows;
  rl::read_rows(*c, &rows);
  char* json = ruvector::pg::guard([&] {
    bundle::BundleMeta meta;
    meta.rotation_seed = rows.seed;
    meta.rerank_factor = rows.rerank_factor;
    meta.generation = static_cast<std::uint64_t>(rows.generation);
    meta.lineage_id = name;
    bundle::apply_publish_options(options_text, &meta);  // what the caller set wins
    bundle::PublishOptions options;
    options.interrupt = ruvector::pg::check_for_interrupts;
    bundle::PublishResult r = bundle::publish_bundle(
        dir, meta, rows.dim, rows.count,
        [&](bundle::VectorsWriter& writer) {
          for (uint64 i = 0; i < rows.count; i++) {
            if (i % 4096 == 0) ruvector::pg::check_for_interrupts();
            writer.add(rows.ids[i], rows.vectors + i * rows.dim);
          }
        },
        options);
    std::string text = bundle::sidecar_to_json(r.sidecar);
    if (!r.cleanup_warning.empty()) {
      ruvector::pg::pg_call([&] {
        ereport(WARNING, (errmsg("bundle published, but cleanup stopped early: %s",
                                 r.cleanup_warning.c_str())));
      });
    }
    return ruvector::pg::pg_call([&] { return pstrdup(text.c_str()); });
  });
  PG_RETURN_DATUM(json_to_jsonb(json));
}

RUVECTOR_FUNCTION(rulake_check_url) {
  char* url = text_to_cstring(PG_GETARG_TEXT_PP(0));
  const char* hosts = rl::allowed_hosts == nullptr ? "" : rl::allowed_hosts;
  ruvector::pg::guard([&] { bundle::check_fetch_url(url, bundle::parse_host_list(hosts)); });
  PG_RETURN_TEXT_P(cstring_to_text(url));
}
