// Samples: the objects of the call being compiled (its arguments) and what the compiler reads from them without
// running any Python code (items of lists and tuples, attributes in an instance's values, the first item an
// iteration yields). They predict the types the code will meet: a value whose sample is a float is guarded as a
// float (one GuardType, an exit to the interpreter when wrong) where arithmetic consumes it, and computed unboxed.
// A sample is never compiled into the code as a value; it only chooses which guard to emit.
#pragma once
#include <Python.h>

#include <map>
#include <utility>
#include <vector>

#include "ir/ir.h"

namespace pypaccel::specialize {

class Samples {
 public:
  Samples() = default;
  Samples(const Samples&) = delete;
  Samples& operator=(const Samples&) = delete;
  ~Samples();

  // The example of local `l` (borrowed, held for the compile), or null. The first one seen wins, but for None,
  // which the first other one replaces (`best = None` before a loop that finds one): the analysis revisits blocks,
  // and a choice that changes at most once keeps the fixed point.
  PyObject* local(int l) const;
  void setLocal(int l, PyObject* o);
  // The example of the stack entry at `depth` when the block at `unit` starts (carried over block edges).
  PyObject* stackAt(int unit, int depth) const;
  void setStackAt(int unit, int depth, PyObject* o);

  // Derived examples, held for the compile, or null. None of them runs Python code.
  // seq[index] of an exact list or tuple (negative from the end), or an item of an array.array
  PyObject* item(PyObject* seq, int64_t index);
  // dict[key] of an exact dict, found comparing only exact str and int keys; with no key known (null), or not
  // there, its first value (a prediction of what its values are).
  PyObject* value(PyObject* dict, PyObject* key);
  PyObject* firstYield(PyObject* iterable);       // the first item iterating an exact list, tuple or dict yields
  PyObject* attribute(PyObject* obj, PyObject* name);  // obj.name where it is a plain instance or class value
  // A new list (or tuple) of these examples (None for a null one): the example of a display.
  PyObject* sequence(bool tuple, const std::vector<PyObject*>& items);
  // The example of `a op b` (a BINARY_OP oparg) where one side is an exact list or tuple and the operation makes
  // another of the same kind (`[x] * n`, `xs + ys`, `xs += ys`): that side's example; else null.
  PyObject* binaryResult(int nb, PyObject* a, PyObject* b);
  // The example of `zip(xs, ys, ...)` (enumerate: `enumerate(xs)`) of exact lists or tuples with an item each: a zip
  // (enumerate) object of their iterators, whose first yield is known without iterating it (firstYield); else null.
  PyObject* zipped(bool enumerate, const std::vector<PyObject*>& iterables);
  // slice(None): the example of a BUILD_SLICE.
  PyObject* slice();
  // An object of an unboxed type (0, 0.0), for a display's items.
  PyObject* ofType(ir::Type t);
  // An example already held that is exactly of type `tp` (the example of `tp(...)`: an instance like the ones the
  // call works with), or null.
  PyObject* instanceOf(PyTypeObject* tp) const;
  // Else a new instance of `tp` as object's __new__ makes it, when tp's instances have no finalizer that releasing
  // it would run; else null. Its attributes are examples of their own, never set on it: what `init` (tp's __init__
  // function) stores straight from its parameters (`self.x = x`), given `args`, the examples of the call's
  // arguments after self (null where none). Every Samples holding it sees them (the compile of a direct callee it
  // is passed to, later too).
  PyObject* blankInstance(PyTypeObject* tp, PyObject* init, const std::vector<PyObject*>& args);
  // A copy of example `o` made of new objects only, for an example that outlives the compile that held `o` (a
  // direct callee's return example, CodeState::directReturned): it keeps none of the program's objects alive. None
  // and bools as they are; a new float, int (64 bits) or str (of at most 64 characters, else empty) of the same
  // value; a tuple or list (of at most 8) of stand-ins; a blank instance whose attribute examples are stand-ins of
  // the instance's inline values. Up to `depth` containers deep; null for anything else.
  PyObject* standIn(PyObject* o, int depth = 2);
  // `obj.name = value` seen by the analysis: when obj is a blank instance, value becomes its attribute example
  // `name` (the first store wins), for every Samples holding it: what an __init__ inferred with a blank `self`
  // stores (`self.background = Vec(...)`, not only its parameters).
  void noteStore(PyObject* obj, PyObject* name, PyObject* value);
  // `xs.append(v)` (or an insert) seen by the analysis: when xs's example is an empty list this Samples made (the
  // example of a display, `out = []`), v's example becomes its item (the first one wins). What reads the list
  // later, or a caller given it as a direct callee's return, then predicts its items (spectral norm's `out` list of
  // floats, returned by one direct callee and passed to the next).
  void noteAppend(PyObject* list, PyObject* item);
  // An example the code returns (the first RETURN_VALUE with one other than None, else None): what a direct call of it gives its caller.
  PyObject* returned() const { return returned_; }
  void setReturned(PyObject* o) {
    if (o && (!returned_ || returned_ == Py_None)) returned_ = hold(o);
  }
  // Holds `o` for the compile (an example another compile gave).
  PyObject* keep(PyObject* o) { return hold(o); }

 private:
  PyObject* hold(PyObject* o);  // a new reference, released with the Samples
  PyObject* blank(PyTypeObject* tp);  // a held new instance (blankInstance) without attribute examples yet, or null
  std::map<int, PyObject*> locals_;
  std::map<std::pair<int, int>, PyObject*> stack_;
  std::vector<PyObject*> held_;
  PyObject* returned_ = nullptr;
  std::map<PyObject*, PyObject*> yields_;  // zipped(): the first yield of each such example
  std::vector<PyObject*> madeLists_;       // the lists sequence() made, which noteAppend may fill
};

// The guard a number of this example's type gets before it is unboxed: Float for an exact float, SmallInt for an
// exact int of at most two digits; false for anything else (bools and other objects stay objects).
bool numberTag(PyObject* sample, ir::TypeTag* tag);

}  // namespace pypaccel::specialize
