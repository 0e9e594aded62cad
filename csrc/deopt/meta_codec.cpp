// Binary encoding of SpecMeta for the cache (little-endian varints and strings, versioned).
#include <cstring>

#include "deopt/specialization.h"

namespace pypaccel::deopt {

namespace {
constexpr uint32_t kMetaVersion = 5;

struct Writer {
  std::string out;
  void u(uint64_t v) {
    do {
      uint8_t b = v & 0x7f;
      v >>= 7;
      out.push_back(char(b | (v ? 0x80 : 0)));
    } while (v);
  }
  void i(int64_t v) { u((uint64_t(v) << 1) ^ uint64_t(v >> 63)); }
  void s(const std::string& v) {
    u(v.size());
    out += v;
  }
};

struct Reader {
  const std::string& in;
  size_t pos = 0;
  bool ok = true;
  uint64_t u() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) {
        ok = false;
        return 0;
      }
      uint8_t b = uint8_t(in[pos++]);
      v |= uint64_t(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  int64_t i() {
    uint64_t z = u();
    return int64_t(z >> 1) ^ -int64_t(z & 1);
  }
  std::string s() {
    uint64_t n = u();
    if (!ok || n > in.size() - pos) {
      ok = false;
      return "";
    }
    std::string v = in.substr(pos, n);
    pos += n;
    return v;
  }
  // A count that must be plausible for the remaining bytes (guards against corrupt sizes).
  size_t count() {
    uint64_t n = u();
    if (n > in.size()) ok = false;
    return ok ? size_t(n) : 0;
  }
};
}  // namespace

namespace {
SpecMeta metaFromIRWithoutVariant(const ir::Function& fn) {
  SpecMeta m;
  m.symbol = fn.name;
  m.signature = fn.signature;
  m.nlocals = fn.nlocals;
  m.nargs = fn.nargs;
  m.stressExits = fn.stressExits;
  m.direct = fn.direct;
  m.exits = fn.exits;
  for (auto& x : m.exits)
    for (auto& v : x.stack) v.v[0] = v.v[1] = v.v[2] = -1;
  m.slots = fn.slots;
  m.globals = fn.globals;
  return m;
}
}  // namespace

SpecMeta metaFromIR(const ir::Function& fn) {
  SpecMeta m = metaFromIRWithoutVariant(fn);
  m.variant = fn.direct ? irVariant(fn) : 0;
  return m;
}

uint64_t irVariant(const ir::Function& fn) {
  Writer w;
  // The stored metadata covers the signature, exits, slots and globals; the rest is what the lowering reads.
  SpecMeta m = metaFromIRWithoutVariant(fn);
  m.symbol.clear();
  w.s(encodeMeta(m));
  w.u(uint64_t(fn.nvalues));
  w.i(fn.startExit);
  for (const ir::Var& v : fn.vars) {
    w.u(uint64_t(v.kind));
    w.i(v.index);
    w.u(uint64_t(v.type));
    w.i(v.comp);
  }
  for (const ir::Block& b : fn.blocks) {
    w.i(b.id);
    w.i(b.unit);
    w.u(b.instrs.size());
    for (const ir::Instr& in : b.instrs) {
      w.u(uint64_t(in.op));
      w.u(uint64_t(in.type));
      w.i(in.id);
      w.u(in.args.size());
      for (int a : in.args) w.i(a);
      w.i(in.imm);
      uint64_t bits;
      __builtin_memcpy(&bits, &in.fimm, sizeof(bits));
      w.u(bits);
      for (int x : {in.exit, in.exit2, in.exit3, in.exit4, in.succ[0], in.succ[1]}) w.i(x);
    }
  }
  for (const ir::ExitPoint& x : fn.exits) {
    w.i(x.catchBlock);
    w.i(x.raiseError);
    for (const ir::SnapValue& v : x.stack) {
      for (int id : v.v) w.i(id);
      w.i(v.origin);
    }
  }
  for (int pin : fn.pins) w.i(pin);
  for (const auto& [site, callee] : fn.inlined) {
    w.i(site);
    w.u(irVariant(*callee));
  }
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64
  for (char c : w.out) h = (h ^ uint8_t(c)) * 1099511628211ull;
  return h ? h : 1;
}

std::string encodeMeta(const SpecMeta& m) {
  Writer w;
  w.u(kMetaVersion);
  w.s(m.symbol);
  w.s(m.signature);
  w.u(m.nlocals);
  w.u(m.nargs);
  w.u(m.stressExits);
  w.u(m.direct);
  w.u(m.variant);
  w.u(m.exits.size());
  for (const auto& x : m.exits) {
    w.u(x.unit);
    w.u(x.resumeUnit);
    w.u(x.line);
    w.u(uint64_t(x.kind));
    w.u(x.reason);
    w.s(x.detail);
    w.u(x.locals.size());
    for (const auto& l : x.locals) {
      w.u(uint64_t(l.type));
      w.u(uint64_t(l.def));
      w.u(l.origin);
    }
    w.u(x.stack.size());
    for (const auto& v : x.stack) w.u(uint64_t(v.type) | (v.borrowed ? 0x100 : 0) | (v.origin >= 0 ? 0x200 : 0));
    w.u(uint64_t(x.pins));
  }
  w.u(m.slots.size());
  for (const auto& s : m.slots) {
    w.u(uint64_t(s.kind));
    w.i(s.index);
    w.s(s.name);
  }
  w.u(m.globals.size());
  for (const auto& g : m.globals) {
    w.s(g.name);
    w.u(g.fromBuiltins);
    w.u(uint8_t(g.expect));
    w.i(g.objSlot);
    w.i(g.globalsVerSlot);
    w.i(g.builtinsVerSlot);
    w.i(g.valueSlot);
  }
  return w.out;
}

bool decodeMeta(const std::string& blob, SpecMeta* out) {
  Reader r{blob};
  if (r.u() != kMetaVersion) return false;
  SpecMeta m;
  m.symbol = r.s();
  m.signature = r.s();
  m.nlocals = int(r.u());
  m.nargs = int(r.u());
  m.stressExits = r.u() != 0;
  m.direct = r.u() != 0;
  m.variant = r.u();
  size_t nexits = r.count();
  for (size_t i = 0; i < nexits && r.ok; i++) {
    ir::ExitPoint x;
    x.unit = int(r.u());
    x.resumeUnit = int(r.u());
    x.line = int(r.u());
    x.kind = ir::ExitKind(r.u());
    x.reason = int(r.u());
    x.detail = r.s();
    size_t nl = r.count();
    for (size_t l = 0; l < nl && r.ok; l++) {
      ir::SnapLocal s;
      s.type = ir::Type(r.u());
      s.def = ir::Def(r.u());
      s.origin = r.u() != 0;
      x.locals.push_back(s);
    }
    size_t ns = r.count();
    for (size_t k = 0; k < ns && r.ok; k++) {
      ir::SnapValue v;
      uint64_t word = r.u();
      v.type = ir::Type(word & 0xff);
      v.borrowed = (word & 0x100) != 0;
      v.origin = (word & 0x200) ? 0 : -1;  // present (the SSA id is not kept)
      if (word > 0x3ff || (v.borrowed && v.type != ir::Type::Obj) ||
          (v.origin >= 0 && v.type != ir::Type::Int && v.type != ir::Type::Float))
        r.ok = false;
      x.stack.push_back(v);
    }
    x.pins = int(r.u());
    if (x.pins < 0 || x.pins > m.nargs) r.ok = false;
    m.exits.push_back(std::move(x));
  }
  size_t nslots = r.count();
  for (size_t i = 0; i < nslots && r.ok; i++) {
    ir::Slot s;
    uint64_t kind = r.u();
    if (kind >= uint64_t(ir::kSlotKinds)) r.ok = false;
    s.kind = ir::SlotKind(kind);
    s.index = int(r.i());
    s.name = r.s();
    m.slots.push_back(s);
  }
  size_t ng = r.count();
  for (size_t i = 0; i < ng && r.ok; i++) {
    ir::GlobalGuard g;
    g.name = r.s();
    g.fromBuiltins = r.u() != 0;
    g.expect = char(r.u());
    g.objSlot = int(r.i());
    g.globalsVerSlot = int(r.i());
    g.builtinsVerSlot = int(r.i());
    g.valueSlot = int(r.i());
    m.globals.push_back(g);
  }
  if (!r.ok || r.pos != blob.size()) return false;
  // Structural sanity: everything indexes within bounds, so a damaged blob can never steer native code.
  for (const auto& x : m.exits) {
    if (int(x.locals.size()) != m.nlocals) return false;
    // Bound locals hold values (numbers or objects); stack entries anything but Void.
    for (const auto& l : x.locals) {
      if (uint8_t(l.def) > uint8_t(ir::Def::Yes) || uint8_t(l.type) > uint8_t(ir::Type::RangeIter)) return false;
      if (l.def != ir::Def::No && !ir::isNumeric(l.type) && l.type != ir::Type::Obj) return false;
      if (l.origin && l.type != ir::Type::Int && l.type != ir::Type::Float) return false;
    }
    for (const auto& v : x.stack)
      if (uint8_t(v.type) > uint8_t(ir::Type::RangeIter) || v.type == ir::Type::Void) return false;
    if (uint8_t(x.kind) > uint8_t(ir::ExitKind::Raise)) return false;
  }
  int ns = int(m.slots.size());
  // Slots come in the groups of slot_kinds.def: each head followed by exactly its words, no word on its own.
  for (int i = 0; i < ns; i += 1 + ir::slotGroupWords(m.slots[i].kind)) {
    const ir::Slot& s = m.slots[i];
    int words = ir::slotGroupWords(s.kind);
    if (ir::isSlotWord(s.kind) || i + words >= ns) return false;
    for (int k = 1; k <= words; k++)
      if (m.slots[i + k].kind != ir::slotWordKind(s.kind)) return false;
    // A call site's expected type is a value type, and its signature fits.
    if (ir::callSiteEntries(s.kind) &&
        ((s.index != int(ir::Type::Int) && s.index != int(ir::Type::Float) && s.index != int(ir::Type::Bool) &&
          s.index != int(ir::Type::Obj)) ||
         s.name.size() > 255))
      return false;
    // A module function is named "module.attr".
    if (s.kind == ir::SlotKind::ModuleAttr) {
      size_t dot = s.name.find('.');
      if (dot == 0 || dot == std::string::npos || dot + 1 == s.name.size() || s.name.size() > 255) return false;
    }
  }
  for (const auto& g : m.globals) {
    auto bad = [&](int s, bool required) { return required ? (s < 0 || s >= ns) : (s >= ns || s < -1); };
    if (bad(g.objSlot, true) || bad(g.globalsVerSlot, true) || bad(g.builtinsVerSlot, g.fromBuiltins) ||
        bad(g.valueSlot, false))
      return false;
  }
  if (int(m.signature.size()) != m.nargs || m.nargs > m.nlocals) return false;
  *out = std::move(m);
  return true;
}

std::string storedMetaProblem(const std::string& blob, const std::string& keySymbol, const std::string& signature,
                              SpecMeta* out) {
  SpecMeta m;
  if (!decodeMeta(blob, &m)) return "metadata does not decode (format " + std::to_string(kMetaVersion) + ")";
  // The compile that stored it may have given the object a suffixed name (compile.cpp: a name already linked).
  if (m.symbol != keySymbol && m.symbol.rfind(keySymbol + "_", 0) != 0)
    return "metadata names symbol " + m.symbol + ", not its key's " + keySymbol;
  if (m.signature != signature) return "metadata is for signature '" + m.signature + "', not '" + signature + "'";
  *out = std::move(m);
  return "";
}

int exitBufferWords(const ir::ExitPoint& x) {
  int n = 0;
  for (const auto& l : x.locals) {
    if (l.def == ir::Def::No) continue;
    n += (l.def == ir::Def::Maybe ? 1 : 0) + ir::typeComponents(l.type) + (l.origin ? 1 : 0);
  }
  for (const auto& v : x.stack) n += ir::typeComponents(v.type) + (v.origin >= 0 ? 1 : 0);
  return n + x.pins;
}

}  // namespace pypaccel::deopt
