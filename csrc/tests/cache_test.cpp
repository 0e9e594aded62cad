// The cache stage: cache::Store (SQLite) round trips, reopening, damaged and foreign files, the content-hash
// keys (cache::codeContentHash, cache::specializationKey) that must change exactly when the code does, and the
// learning policy (what one run's profiles teach the next).
#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "cache/key.h"
#include "cache/learning.h"
#include "cache/registry.h"
#include "cache/store.h"
#include "deopt/reasons.h"
#include "test_support.h"

using namespace pypaccel;
using namespace pypaccel::testing;
namespace fs = std::filesystem;

namespace {

// A fresh directory, removed with everything in it at the end of the test.
struct TempDir {
  fs::path path;
  TempDir() {
    std::random_device rd;
    path = fs::temp_directory_path() /
           ("pypaccel_cache_test_" + std::to_string(getpid()) + "_" + std::to_string(rd()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

cache::OpenOptions options(bool writable, const std::string& journal = "") {
  cache::OpenOptions o;
  o.writable = writable;
  o.modulePath = "/src/mod.py";
  o.journal = journal;
  return o;
}

std::unique_ptr<cache::Store> openStore(const std::string& path, bool writable, const std::string& journal = "") {
  return must(cache::Store::open(path, options(writable, journal)), "Store::open " + path);
}

// "" on success, else the error's text.
std::string errText(llvm::Error e) { return e ? support::errorReason(std::move(e)) : ""; }

std::string openError(const std::string& path, bool writable) {
  auto st = cache::Store::open(path, options(writable));
  if (st) return "";
  return support::errorReason(st.takeError());
}

cache::Entry sampleEntry(const std::string& sig) {
  cache::Entry e;
  e.codeHash = std::string(32, '\x11');
  e.key = cache::specializationKey(e.codeHash, sig, "build-1");
  e.qualname = "mod.f";
  e.firstlineno = 12;
  e.signature = sig;
  e.build = "build-1";
  e.object = std::string("\x7f" "ELF\0\0binary\xff\x00tail", 17);
  e.meta = std::string("\x01\x00meta", 6);
  e.compileMs = 1.5;
  return e;
}

// Runs SQL on the file through a separate connection (as another process would).
void sql(const std::string& path, const std::string& text, const std::string& blob = "") {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, text.c_str(), -1, &st, nullptr) == SQLITE_OK);
  if (!blob.empty()) sqlite3_bind_blob(st, 1, blob.data(), int(blob.size()), SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
  }
  CHECK(rc == SQLITE_DONE);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

int sqlInt(const std::string& path, const std::string& text) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, text.c_str(), -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

std::string hashOf(const std::string& src, const std::string& name = "f") {
  Ref code = functionCode(src, name);
  return must(cache::codeContentHash(code.get()), "codeContentHash");
}

}  // namespace

TEST_CASE("store put and lookup round trip also after reopening", "[cache]") {
  TempDir dir;
  std::string path = dir.file("mod.cpython-311.pyp");
  cache::Entry e = sampleEntry("ii");
  {
    auto st = openStore(path, true);
    CHECK(st->writable());
    REQUIRE(errText(st->put(e)) == "");
    std::string problem;
    auto got = st->lookup(e.key, &problem);
    REQUIRE(got);
    CHECK(problem == "");
    CHECK(got->object == e.object);
    CHECK(got->meta == e.meta);
    CHECK(got->codeHash == e.codeHash);
    CHECK(got->qualname == "mod.f");
    CHECK(got->firstlineno == 12);
    CHECK(got->signature == "ii");
    CHECK(got->build == "build-1");
    CHECK(got->checksum == cache::checksum(e.object + e.meta));
    CHECK_FALSE(st->lookup(cache::specializationKey(e.codeHash, "ff", "build-1"), &problem));
    CHECK(problem == "");
  }
  CHECK(sqlInt(path, "PRAGMA application_id") == cache::kApplicationId);
  CHECK(sqlInt(path, "PRAGMA user_version") == cache::kSchemaVersion);
  {
    auto st = openStore(path, true);  // reopening keeps entries; replacing one overwrites it
    std::string problem;
    REQUIRE(st->lookup(e.key, &problem));
    cache::Entry e2 = e;
    e2.object = "other object";
    REQUIRE(errText(st->put(e2)) == "");
    CHECK(st->lookup(e.key, &problem)->object == "other object");
  }
  {
    auto ro = openStore(path, false);
    CHECK_FALSE(ro->writable());
    std::string problem;
    CHECK(ro->lookup(e.key, &problem)->object == "other object");
    cache::Entry e3 = sampleEntry("ff");
    CHECK(errText(ro->put(e3)) == "");  // a read-only store ignores writes
    CHECK_FALSE(ro->lookup(e3.key, &problem));
  }
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations") == 1);
}

TEST_CASE("run records stay bounded to the last 20 runs", "[cache]") {
  TempDir dir;
  std::string path = dir.file("runs.pyp");
  auto st = openStore(path, true);
  for (int i = 0; i < 25; i++) {
    cache::Event ev;
    ev.qualname = "f";
    ev.kind = "exit";
    ev.offset = 4;
    ev.line = 2;
    ev.reason = "int overflow of 64 bits";
    ev.count = uint64_t(i);
    REQUIRE(errText(st->recordRun("run" + std::to_string(i), 1000.0 + i, 1001.0 + i, 42, "prog", {ev, ev})) == "");
  }
  CHECK(sqlInt(path, "SELECT count(*) FROM runs") == 20);
  CHECK(sqlInt(path, "SELECT count(*) FROM events") == 40);
  CHECK(sqlInt(path, "SELECT count(*) FROM runs WHERE run_id = 'run0'") == 0);
}

TEST_CASE("a damaged entry is a miss with a problem", "[cache]") {
  TempDir dir;
  std::string path = dir.file("damaged.pyp");
  auto st = openStore(path, true);
  cache::Entry e = sampleEntry("ii");
  cache::Entry other = sampleEntry("if");
  REQUIRE(errText(st->put(e)) == "");
  REQUIRE(errText(st->put(other)) == "");
  std::string flipped = e.object;
  flipped[5] ^= 0x20;
  sql(path, "UPDATE specializations SET object = ? WHERE signature = 'ii'", flipped);
  std::string problem;
  CHECK_FALSE(st->lookup(e.key, &problem));
  CHECK(problem.find("checksum mismatch") != std::string::npos);
  CHECK(problem.find("mod.f") != std::string::npos);

  sql(path, "UPDATE specializations SET meta = ? WHERE signature = 'if'", "changed meta");
  problem.clear();
  CHECK_FALSE(st->lookup(other.key, &problem));
  CHECK(problem.find("checksum mismatch") != std::string::npos);

  REQUIRE(errText(st->put(e)) == "");  // storing it again repairs it
  problem.clear();
  CHECK(st->lookup(e.key, &problem));
  CHECK(problem == "");
}

TEST_CASE("files that are not pypaccel caches are refused", "[cache]") {
  TempDir dir;
  std::string text = dir.file("notes.txt");
  std::ofstream(text) << "this is not a database, just some text that is long enough to have a header\n";
  CHECK(openError(text, true).find("is not a SQLite database") != std::string::npos);
  CHECK(openError(text, false).find("is not a SQLite database") != std::string::npos);
  // Named like a cache: read-only it is refused; writable, it is replaced by a new cache (with a note to warn).
  std::string damaged = dir.file("damaged.pyp");
  std::ofstream(damaged) << "this is not a database, just some text that is long enough to have a header\n";
  CHECK(openError(damaged, false).find("is not a SQLite database") != std::string::npos);
  auto fresh = openStore(damaged, true);
  CHECK(fresh->note().find("was damaged") != std::string::npos);
  CHECK(sqlInt(damaged, "PRAGMA user_version") == cache::kSchemaVersion);

  std::string foreign = dir.file("foreign.pyp");
  sql(foreign, "PRAGMA application_id = 1234");
  sql(foreign, "CREATE TABLE t(x)");
  CHECK(openError(foreign, true).find("is not a pypaccel cache") != std::string::npos);
  CHECK(openError(foreign, false).find("is not a pypaccel cache") != std::string::npos);
  CHECK(sqlInt(foreign, "PRAGMA application_id") == 1234);  // untouched

  std::string newer = dir.file("newer.pyp");
  sql(newer, "PRAGMA application_id = " + std::to_string(cache::kApplicationId));
  sql(newer, "PRAGMA user_version = 99");
  CHECK(openError(newer, true).find("has a newer schema (99)") != std::string::npos);

  CHECK(openError(dir.file("missing.pyp"), false) != "");
  std::string blank = dir.file("blank.pyp");
  sql(blank, "PRAGMA user_version = 0");
  CHECK(openError(blank, false).find("is empty") != std::string::npos);
}

TEST_CASE("an unrelated SQLite database without an application_id is refused", "[cache]") {
  TempDir dir;
  std::string foreign = dir.file("app.db");
  sql(foreign, "CREATE TABLE users(name TEXT)");
  sql(foreign, "INSERT INTO users VALUES('ada')");
  CHECK(openError(foreign, true).find("is not a pypaccel cache") != std::string::npos);
  CHECK(sqlInt(foreign, "PRAGMA application_id") == 0);
  CHECK(sqlInt(foreign, "SELECT count(*) FROM sqlite_master") == 1);
  std::string empty = dir.file("empty.db");  // an unmarked but empty database is ours to set up
  sql(empty, "PRAGMA user_version = 0");
  CHECK(openError(empty, true) == "");
}

// Bug: Store::open switches the database to WAL (a persistent change to the file header) before it decides the
// file is not a cache, so refusing someone else's database still rewrites it.
TEST_CASE("refusing an unrelated database leaves its journal mode alone", "[cache]") {
  TempDir dir;
  std::string foreign = dir.file("app.db");
  sql(foreign, "CREATE TABLE users(name TEXT)");
  REQUIRE(sqlInt(foreign, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'delete'") == 1);
  CHECK(openError(foreign, true) != "");
  CHECK(sqlInt(foreign, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'delete'") == 1);
}

TEST_CASE("codeContentHash is stable and sensitive to every constant", "[cache]") {
  const char* src = "def f(a):\n    return a * 2.5 + len('abc') if a in {'x', 'y', 'z'} else (a, 0.0)\n";
  std::string h = hashOf(src);
  CHECK(h.size() == 32);
  CHECK(hashOf(src) == h);  // compiled afresh: a different code object, the same content
  CHECK(cache::hexOf(h).size() == 64);
  CHECK(cache::hexOf(h, 12).size() == 24);

  CHECK(hashOf("def f(a):\n    return a + 1\n") != hashOf("def f(a):\n    return a + 2\n"));
  CHECK(hashOf("def f(a):\n    return a + 0.0\n") != hashOf("def f(a):\n    return a + -0.0\n"));
  CHECK(hashOf("def f(a):\n    return a + 1\n") != hashOf("def f(a):\n    return a + 1.0\n"));
  CHECK(hashOf("def f(a):\n    return a + 1\n") != hashOf("def f(a):\n    return a + True\n"));
  CHECK(hashOf("def f(a):\n    return a + 'x'\n") != hashOf("def f(a):\n    return a + b'x'\n"));
  CHECK(hashOf("def f(a):\n    return a + g\n") != hashOf("def f(a):\n    return a + h\n"));
  CHECK(hashOf("def f(a):\n    return a + (1, 2)\n") != hashOf("def f(a):\n    return a + (1, 3)\n"));
  CHECK(hashOf("def f(a):\n    return a + 1j\n") != hashOf("def f(a):\n    return a + 2j\n"));
  CHECK(hashOf("def f(a):\n    return a\n") != hashOf("def f(b):\n    return b\n"));
  CHECK(hashOf("def f(a):\n    return a\n") != hashOf("\ndef f(a):\n    return a\n"));  // first line
  // Nested code objects are hashed too.
  CHECK(hashOf("def f(a):\n    return lambda: 1\n") != hashOf("def f(a):\n    return lambda: 2\n"));
  // Set constants hash by content, not by iteration order.
  CHECK(hashOf("def f(a):\n    return a in {'p', 'q', 'r', 's'}\n") ==
        hashOf("def f(a):\n    return a in {'s', 'r', 'q', 'p'}\n"));
}

TEST_CASE("codeContentHash declines unkeyable constants without leaving an exception", "[cache]") {
  Ref code = functionCode("def f(a):\n    return a in {1, 'x'}\n");  // a frozenset that cannot be sorted
  auto h = cache::codeContentHash(code.get());
  REQUIRE_FALSE(bool(h));
  CHECK(support::errorReason(h.takeError()) == "code has constants the cache cannot key");
  CHECK(PyErr_Occurred() == nullptr);
  auto notCode = cache::codeContentHash(Py_None);  // None hashes as a constant: no crash either way
  if (!notCode) llvm::consumeError(notCode.takeError());
}

TEST_CASE("specializationKey separates signatures and builds", "[cache]") {
  std::string h = hashOf("def f(a, b):\n    return a + b\n");
  std::string k = cache::specializationKey(h, "ii", "py=1;opt=2");
  CHECK(k.size() == 32);
  CHECK(cache::specializationKey(h, "ii", "py=1;opt=2") == k);
  CHECK(cache::specializationKey(h, "if", "py=1;opt=2") != k);
  CHECK(cache::specializationKey(h, "ii", "py=1;opt=3") != k);
  CHECK(cache::specializationKey(hashOf("def f(a, b):\n    return a - b\n"), "ii", "py=1;opt=2") != k);
  // Field boundaries are part of the key: moving a character from one field to the next changes it.
  CHECK(cache::specializationKey(h, "iif", "x") != cache::specializationKey(h, "ii", "fx"));
}

TEST_CASE("a store prunes other builds and edited-away versions of a function", "[cache]") {
  TempDir dir;
  std::string path = dir.file("prune.pyp");
  auto st = openStore(path, true);
  // 100 edits of one function: each a new code hash; only the 2 most recent versions stay.
  for (int v = 0; v < 100; v++) {
    cache::Entry e = sampleEntry("ii");
    e.codeHash = std::string(31, '\x22') + char(v);
    e.key = cache::specializationKey(e.codeHash, "ii", e.build);
    REQUIRE(errText(st->put(e)) == "");
  }
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations WHERE qualname = 'mod.f'") == 2);
  // Another function is untouched by mod.f's pruning.
  cache::Entry g = sampleEntry("f");
  g.qualname = "mod.g";
  g.key = cache::specializationKey(g.codeHash, "f", "build-1") + "";
  REQUIRE(errText(st->put(g)) == "");
  // Three more builds: the two most recently used stay.
  for (int b = 2; b <= 4; b++) {
    cache::Entry e = sampleEntry("ii");
    e.build = "build-" + std::to_string(b);
    e.key = cache::specializationKey(e.codeHash, "ii", e.build);
    REQUIRE(errText(st->put(e)) == "");
  }
  CHECK(sqlInt(path, "SELECT count(DISTINCT build) FROM specializations") == 2);
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations WHERE build = 'build-1'") == 0);
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations WHERE build = 'build-4'") == 1);
}

// Issue 15: lambdas of one line share a qualname (and a first line). Pruning "other versions of the function" by
// qualname kept two of three, so each warm run compiled the one the previous run had pushed out.
TEST_CASE("same-named code objects used together are not each other's older versions", "[cache]") {
  TempDir dir;
  std::string path = dir.file("lambdas.pyp");
  auto st = openStore(path, true);
  auto lambda = [](char v) {
    cache::Entry e = sampleEntry("i");
    e.qualname = "<lambda>";
    e.codeHash = std::string(31, '\x55') + v;
    e.key = cache::specializationKey(e.codeHash, "i", e.build);
    return e;
  };
  auto count = [&] { return sqlInt(path, "SELECT count(DISTINCT code_hash) FROM specializations"); };
  // One process stores three: the others it runs are named at each store.
  std::set<std::string> running;
  for (char v : {'a', 'b', 'c'}) {
    REQUIRE(errText(st->put(lambda(v), running)) == "");
    running.insert(lambda(v).codeHash);
  }
  CHECK(count() == 3);
  // Its run record stamps all three alike: one use. The next process edits one (its first store names no other,
  // they have not run yet); the three it came from are the previous use.
  std::vector<std::string> used;
  for (char v : {'a', 'b', 'c'}) used.push_back(lambda(v).key);
  REQUIRE(errText(st->recordRun("r1", 1.0, 2.0, 1, "prog", {}, {}, used)) == "");
  REQUIRE(errText(st->put(lambda('A'))) == "");
  CHECK(count() == 4);
  REQUIRE(errText(st->recordRun("r2", 3.0, 4.0, 1, "prog", {}, {}, {lambda('A').key, used[1], used[2]})) == "");
  // Edited again: the version of two uses ago goes, nothing else.
  REQUIRE(errText(st->put(lambda('B'))) == "");
  CHECK(count() == 4);
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations WHERE substr(code_hash, 32) = 'a'") == 0);
  // Profiles: written together, kept together.
  std::vector<cache::Profile> profiles;
  for (char v : {'a', 'b', 'c', 'd', 'e'}) {
    cache::Profile p;
    p.codeHash = lambda(v).codeHash;
    p.signature = "i";
    p.build = "build-1";
    p.qualname = "<lambda>";
    p.state = "native";
    profiles.push_back(p);
  }
  REQUIRE(errText(st->recordRun("r3", 5.0, 6.0, 1, "prog", {}, profiles, {})) == "");
  CHECK(sqlInt(path, "SELECT count(*) FROM profiles WHERE qualname = '<lambda>'") == 5);
}

TEST_CASE("profiles round trip and stay bounded per function", "[cache]") {
  TempDir dir;
  std::string path = dir.file("profiles.pyp");
  auto st = openStore(path, true);
  cache::Profile p;
  p.codeHash = std::string(32, '\x33');
  p.signature = "ii";
  p.build = "build-1";
  p.qualname = "mod.f";
  p.firstlineno = 3;
  p.calls = 7;
  p.entries = 7;
  p.exits = 7;
  p.state = "native";
  p.widen = "12,40";
  p.exitRecords = "12:int overflow of 64 bits:7;";
  cache::Profile q = p;
  q.signature = "ff";
  q.state = "disabled";
  q.reason = "exits on 90% of entries";
  q.widen = "";
  REQUIRE(errText(st->recordRun("r1", 1.0, 2.0, 1, "prog", {}, {p, q}, {})) == "");
  auto rows = must(st->profiles(p.codeHash, "build-1"), "profiles");
  REQUIRE(rows.size() == 2);
  for (const auto& r : rows) {
    if (r.signature == "ii") {
      CHECK(r.state == "native");
      CHECK(r.widen == "12,40");
      CHECK(r.exits == 7);
      CHECK(r.exitRecords == p.exitRecords);
    } else {
      CHECK(r.signature == "ff");
      CHECK(r.state == "disabled");
      CHECK(r.reason == "exits on 90% of entries");
    }
  }
  CHECK(must(st->profiles(p.codeHash, "build-2"), "profiles").empty());  // another build learned nothing yet
  for (int v = 0; v < 50; v++) {  // edits of mod.f
    cache::Profile e = p;
    e.codeHash = std::string(31, '\x44') + char(v);
    REQUIRE(errText(st->recordRun("r" + std::to_string(v + 2), 3.0 + v, 4.0 + v, 1, "prog", {}, {e}, {})) == "");
  }
  CHECK(sqlInt(path, "SELECT count(DISTINCT code_hash) FROM profiles WHERE qualname = 'mod.f'") == 2);
}

TEST_CASE("what one run's exits teach, the next run's first call learns", "[cache]") {
  TempDir dir;
  // Every source file's database is learning.pyp, writable (the registry asks once per file and process).
  Ref globals = execSource("def path_for(filename):\n    return (" + std::string("'") + dir.file("learning.pyp") +
                           "', True)\n");
  cache::configureStores({Ref::borrow(PyDict_GetItemString(globals.get(), "path_for")), Ref(), ""});
  auto state = [&] {
    auto st = std::make_unique<profile::CodeState>();
    st->filename = dir.file("mod.py");
    st->qualname = "f";
    st->codeHash = std::string(32, '\x55');
    st->hashTried = true;
    return st;
  };
  auto exitAt = [](int unit, deopt::Reason reason) {
    ir::ExitPoint x;
    x.unit = unit;
    x.reason = int(reason);
    return x;
  };
  auto run1 = state();
  auto s = std::make_unique<deopt::Specialization>();
  s->meta.signature = "ii";
  s->meta.exits = {exitAt(6, deopt::Reason::IntOverflow), exitAt(9, deopt::Reason::TracingOn),
                   exitAt(12, deopt::Reason::GlobalChanged)};
  s->exitCounts = {3, 5, 2};
  s->entries = 20;
  run1->specs.push_back(std::move(s));
  run1->failedSignatures["ff"] = profile::Interpreted{"declined", "failed", "declined"};
  run1->failedSignatures["oo"] = profile::Interpreted{"too many", "", "too many"};  // not the signature's doing
  auto rows = cache::profilesForNextRun(*run1, "build-1");
  REQUIRE(rows.size() == 2);
  cache::Store* store = cache::storeFor(run1->filename, cache::Open::Create);
  REQUIRE(store);
  REQUIRE(errText(store->recordRun("r1", 1.0, 2.0, 1, "prog", {}, rows, {})) == "");

  auto run2 = state();
  int asked = 0;
  cache::learnFromEarlierRuns(*run2, [&] {
    asked++;
    return std::string("build-1");
  });
  CHECK(asked == 1);
  CHECK(run2->profileRead);
  CHECK(run2->warm == std::set<std::string>{"ii"});
  // The overflow fired on 3 of 20 entries (at least a tenth): widened; tracing switched on is nothing a generic
  // operation would handle. A global taken as a constant and rebound on 2 of 20 entries: loaded as an object.
  CHECK(run2->widen["ii"] == std::set<int>{6, 12});
  REQUIRE(run2->failedSignatures.count("ff"));
  CHECK(run2->failedSignatures["ff"].state == "failed");
  CHECK(run2->failedSignatures["ff"].why == "the compiler declined it in an earlier run (declined)");
  CHECK_FALSE(run2->failedSignatures.count("oo"));
  CHECK(cache::widenSuffix(run2->widen["ii"]) == "|w12,24,");

  // Within a run: native code that keeps overflowing is retired for a widened recompile, once.
  deopt::Specialization& live = *run1->specs.front();
  CHECK(cache::retireForWidening(*run1, live));
  CHECK(live.retired);
  CHECK(run1->widen["ii"] == std::set<int>{6, 12});
  CHECK_FALSE(cache::retireForWidening(*run1, live));
  cache::configureStores({});
}

TEST_CASE("recordRun refreshes last_used of the entries a run loaded", "[cache]") {
  TempDir dir;
  std::string path = dir.file("used.pyp");
  auto st = openStore(path, true);
  cache::Entry e = sampleEntry("ii");
  REQUIRE(errText(st->put(e)) == "");
  sql(path, "UPDATE specializations SET last_used = 5");
  REQUIRE(errText(st->recordRun("r", 1.0, 2.0, 1, "prog", {}, {}, {e.key})) == "");
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations WHERE last_used > 1000000") == 1);
}

TEST_CASE("files of other users or writable by others are refused", "[cache]") {
  TempDir dir;
  std::string path = dir.file("trust.pyp");
  { auto st = openStore(path, true); }
  CHECK(cache::distrustReason(path) == "");
  fs::permissions(path, fs::perms::group_write, fs::perm_options::add);
  CHECK(openError(path, false).find("writable by group or others") != std::string::npos);
  CHECK(openError(path, true).find("writable by group or others") != std::string::npos);
  fs::permissions(path, fs::perms::group_write, fs::perm_options::remove);
  CHECK(openError(path, true) == "");
  if (geteuid() == 0) {  // only root can give a file away
    REQUIRE(chown(path.c_str(), 12345, 12345) == 0);
    CHECK(openError(path, false).find("owned by another user (uid 12345)") != std::string::npos);
  }
}

TEST_CASE("a new database is not writable by group or others whatever the umask", "[cache]") {
  TempDir dir;
  std::string path = dir.file("umask.pyp");
  mode_t old = umask(0);
  { auto st = openStore(path, true); }
  umask(old);
  CHECK((fs::status(path).permissions() & (fs::perms::group_write | fs::perms::others_write)) == fs::perms::none);
  CHECK(openError(path, true) == "");
}

TEST_CASE("the journal is WAL by default and the rollback journal on request", "[cache]") {
  TempDir dir;
  auto wal = openStore(dir.file("wal.pyp"), true);
  CHECK(wal->journalMode() == "wal");
  auto del = openStore(dir.file("delete.pyp"), true, "delete");
  CHECK(del->journalMode() == "delete");
  cache::Entry e = sampleEntry("ii");
  REQUIRE(errText(del->put(e)) == "");
  std::string problem;
  CHECK(del->lookup(e.key, &problem));
  CHECK_FALSE(fs::exists(dir.file("delete.pyp-wal")));
}

TEST_CASE("a schema 1 database is rebuilt by a writable open, refused read-only", "[cache]") {
  TempDir dir;
  std::string path = dir.file("old.pyp");
  sql(path, "PRAGMA application_id = " + std::to_string(cache::kApplicationId));
  sql(path, "PRAGMA user_version = 1");
  sql(path, "CREATE TABLE specializations(key BLOB PRIMARY KEY, object BLOB)");
  CHECK(openError(path, false).find("older schema (1)") != std::string::npos);
  auto st = openStore(path, true);
  CHECK(sqlInt(path, "PRAGMA user_version") == cache::kSchemaVersion);
  cache::Entry e = sampleEntry("ii");
  REQUIRE(errText(st->put(e)) == "");
}

TEST_CASE("a damaged entry is deleted from a writable store", "[cache]") {
  TempDir dir;
  std::string path = dir.file("heal.pyp");
  auto st = openStore(path, true);
  cache::Entry e = sampleEntry("ii");
  REQUIRE(errText(st->put(e)) == "");
  sql(path, "UPDATE specializations SET checksum = checksum + 1");
  std::string problem;
  CHECK_FALSE(st->lookup(e.key, &problem));
  CHECK(problem.find("checksum mismatch") != std::string::npos);
  CHECK(sqlInt(path, "SELECT count(*) FROM specializations") == 0);
}

TEST_CASE("checksum is FNV-1a 64 (published test vectors)", "[cache]") {
  CHECK(cache::checksum("") == 0xcbf29ce484222325ull);
  CHECK(cache::checksum("a") == 0xaf63dc4c8601ec8cull);
  CHECK(cache::checksum("foobar") == 0x85944171f73967e8ull);
}
