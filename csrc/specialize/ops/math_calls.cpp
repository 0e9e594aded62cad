// math.sqrt(x), math.floor(x), math.isnan(x), ... on unboxed numbers: the function is found on the module at
// compile time and guarded at run time (the module object, its dict's version), then computed natively with the
// same libm functions CPython's math module calls. Where CPython raises (math domain error, math range error, an
// infinity or nan that has no int), native code exits before the call and the interpreter raises it.
#include "specialize/ops/math_calls.h"

#include <cstring>
#include <optional>
#include <vector>

#include "deopt/specialization.h"

namespace pypaccel::specialize {

using deopt::Reason;
using ir::ExitKind;
using ir::MathFn;

bool loadModuleFunction(Emitter& e, const Instruction& in) {
  const StackEntry& owner = e.stack.back();
  if (owner.type != Type::Obj || !owner.hint || e.opts.widen.count(in.unit)) return false;
  const char* attr = PyUnicode_AsUTF8(PyTuple_GET_ITEM(e.info.names.get(), in.arg));
  if (!attr) {
    PyErr_Clear();
    return false;
  }
  PyObject* fn = deopt::nativeModuleFunction(owner.hint, attr);
  if (!fn) return false;
  const char* module = PyModule_GetName(owner.hint);
  if (!module) {
    PyErr_Clear();
    return false;
  }
  int slot = int(e.fn.slots.size());
  e.fn.slots.push_back(ir::Slot{ir::SlotKind::ModuleAttr, 0, std::string(module) + "." + attr});
  for (int k = 0; k < ir::slotGroupWords(ir::SlotKind::ModuleAttr); k++)
    e.fn.slots.push_back(ir::Slot{ir::SlotKind::ModuleWord, 0, ""});
  // Another object than the module linked, or the module's dict changed (math.sqrt = ...): the interpreter loads
  // the attribute.
  int ex = e.makeExit(ExitKind::Reexec, Reason::GlobalChanged, std::string(module) + "." + attr);
  e.emitVoid(Op::GuardModuleAttr, {owner.v[0]}, slot, ex);
  StackEntry mod = e.pop();
  e.discard(mod);
  if (in.op == LOAD_METHOD) e.push(Type::Null, -1);
  e.pushSlotObj(slot + 3, fn);
  return true;
}

bool callModuleFunction(Emitter& e, const StackEntry& callable, size_t n) {
  const char* name = deopt::nativeModuleFunctionName(callable.known);
  if (!name) return false;
  size_t size = e.stack.size();
  const StackEntry* args = &e.stack[size - n];
  for (size_t i = 0; i < n; i++)
    if (!ir::isNumeric(args[i].type)) return false;
  auto is = [&](const char* s) { return std::strcmp(name, s) == 0; };
  int result = -1;
  Type rtype = Type::Void;
  // A number argument is converted as the math module converts it (PyFloat_AsDouble: an int correctly rounded).
  auto flt = [&](size_t i) { return e.asFloat(args[i], false, -1); };
  std::optional<MathFn> math = ir::mathFnCalled(name, int(n));
  if (math && !ir::mathFnRow(*math).intResult) {
    // A float of floats, computed by libm (or an LLVM intrinsic equal to it).
    int ex = ir::mathFnRow(*math).domainExit
                 ? e.makeExit(ExitKind::Reexec, Reason::MathDomain, std::string("math.") + name)
                 : -1;
    std::vector<int> xs;
    for (size_t i = 0; i < n; i++) xs.push_back(flt(i));
    result = e.emit(Op::FloatMath, Type::Float, xs, int64_t(*math), ex);
    rtype = Type::Float;
  } else if (n == 1) {
    bool isFloat = args[0].type == Type::Float;
    if (is("fabs")) {
      result = e.emit(Op::FloatAbs, Type::Float, {flt(0)});
      rtype = Type::Float;
    } else if (math || is("trunc")) {
      // An int (or bool) comes back as the int it is; a float as the int of its floor/ceil/truncation, which
      // CPython raises for (inf, nan) or makes a big int of (|x| >= 2**63): exit then.
      if (isFloat) {
        int x = args[0].v[0];
        if (math) x = e.emit(Op::FloatMath, Type::Float, {x}, int64_t(*math));
        int ex = e.makeExit(ExitKind::Reexec, Reason::IntOverflow, std::string("math.") + name);
        result = e.emit(Op::FloatToInt, Type::Int, {x}, 0, ex);
      } else {
        result = e.asInt(args[0]);
      }
      rtype = Type::Int;
    } else if (is("isnan") || is("isinf") || is("isfinite")) {
      int64_t which = is("isnan") ? 0 : is("isinf") ? 1 : 2;
      result = e.emit(Op::FloatClass, Type::Bool, {flt(0)}, which);
      rtype = Type::Bool;
    }
  }
  if (rtype == Type::Void) return false;
  StackEntry fn = callable;
  e.stack.resize(size - n - 2);
  e.discard(fn);
  e.push(rtype, result);
  return true;
}

}  // namespace pypaccel::specialize
