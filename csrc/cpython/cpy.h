/* The only door to CPython 3.11 internals. Everything behind it is C11 built with Py_BUILD_CORE (several 3.11
 * internal headers do not compile as C++); callers see opaque frames and plain functions. A 3.12 port is a sibling
 * folder implementing this same header. */
#ifndef PYPACCEL_CPYTHON_CPY_H
#define PYPACCEL_CPYTHON_CPY_H

#include <Python.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _PyInterpreterFrame PypaFrame;
typedef PyObject *(*PypaEvalFunc)(PyThreadState *, PypaFrame *, int);

/* -- Eval-frame hook (PEP 523) ---------------------------------------------------------------------------------- */
PypaEvalFunc pypa_cpy_get_eval_frame(void);
void pypa_cpy_set_eval_frame(PypaEvalFunc f);
/* Whether f is the interpreter's own _PyEval_EvalFrameDefault. */
int pypa_cpy_is_default_eval(PypaEvalFunc f);
/* Puts the interpreter's own _PyEval_EvalFrameDefault back. */
void pypa_cpy_reset_eval_frame(void);
PyObject *pypa_cpy_eval_default(PyThreadState *ts, PypaFrame *f, int throwflag);
/* _PyEval_EvalFrameDefault(ts, f, 1) for a frame that started natively and now raises at prev_instr: without the
   'call' trace event the interpreter reports when a frame is entered with throwflag set. */
PyObject *pypa_cpy_eval_raise(PyThreadState *ts, PypaFrame *f);
/* The running interpreter's version (Py_Version, i.e. sys.hexversion), for build identities. */
unsigned long pypa_cpy_version_hex(void);
/* The ABI flags this extension was built with, as in sys.abiflags ("" for a release build, "d" with Py_DEBUG):
   they change object layouts, so they are part of the cache's build identity. */
const char* pypa_cpy_abi_flags(void);
/* Non-zero while tracing or profiling is active on this thread. */
int pypa_cpy_tracing(PyThreadState *ts);

/* -- The hook's entry (hook_entry.c) ----------------------------------------------------------------------------- */
/* What a code object's co_extra slot points to. While passes > 0, each call of the code takes one and runs in the
   interpreter without reaching the C++ hook (which arms the gate, and disarms it before anything that must see
   the next call). `state` is the hook's own record of the code (profile::CodeState). */
typedef struct PypaGate {
    int64_t passes;
    void *state;
} PypaGate;
/* Before installing pypa_hook_entry: the co_extra index of the gates (they are not used if it is -1 or co_extra's
   layout is not the expected one), the C++ hook, and what a passed frame runs in (NULL: _PyEval_EvalFrameDefault).
   The gates' free function must accept a PypaGate whose state is NULL. */
void pypa_hook_entry_configure(Py_ssize_t extra_index, PypaEvalFunc decide, PypaEvalFunc next);
PyObject *pypa_hook_entry(PyThreadState *ts, PypaFrame *f, int throwflag);
/* This thread's stack mark for the gate (see hook.cpp's C stack section). */
void pypa_hook_entry_set_stack_low(char *low);
/* The lowest address and size of this thread's C stack, or NULL. */
char *pypa_thread_stack_base(size_t *size);
/* A hook that only calls _PyEval_EvalFrameDefault: what PEP 523 itself costs, for bench/hook_cost.py. */
PyObject *pypa_hook_passthrough(PyThreadState *ts, PypaFrame *f, int throwflag);

/* -- Frames ----------------------------------------------------------------------------------------------------- */
PyCodeObject *pypa_frame_code(PypaFrame *f);
PyObject *pypa_frame_func(PypaFrame *f);
PyObject *pypa_frame_globals(PypaFrame *f);
PyObject *pypa_frame_builtins(PypaFrame *f);
PyObject **pypa_frame_localsplus(PypaFrame *f);
/* Frame owned by the thread's frame stack (not a generator, not a frame object). */
int pypa_frame_is_thread_owned(PypaFrame *f);
/* Address of frame->prev_instr, so native code can keep the current call site up to date. */
void *pypa_frame_prev_instr_addr(PypaFrame *f);
/* First code unit of the code's (adaptive) bytecode; prev_instr points into it. */
void *pypa_code_first_instr(PyCodeObject *co);
/* Set prev_instr to unit index `unit` (may be -1: before the first instruction). */
void pypa_frame_set_prev_unit(PypaFrame *f, int unit);
/* Set the value-stack depth (stacktop = nlocalsplus + depth). */
void pypa_frame_set_stack_depth(PypaFrame *f, int depth);
/* The value-stack depth (stacktop - nlocalsplus); -1 when the frame is running in the interpreter (stacktop -1). */
int pypa_frame_stack_depth(PypaFrame *f);
/* A range iterator's state as a virtual one holds it (ir::Type::RangeIter: the next value, the end it steps
   towards, the step): 1, or 0 when `it` is not an exact range_iterator (a longrange_iterator, say) or its end does
   not fit in a C long. */
int pypa_range_iter_state(PyObject *it, long long *cur, long long *stop, long long *step);
/* Link/unlink the frame as the thread's current frame while native code runs it (tracebacks, sys._getframe). */
void pypa_frame_link(PyThreadState *ts, PypaFrame *f);
void pypa_frame_unlink(PyThreadState *ts, PypaFrame *f);

/* -- Exception handlers (exceptions.c) --------------------------------------------------------------------------- */
/* The `error:` label and the end of `exception_unwind:` for a handler in frame f: the traceback entry of f at its
   prev_instr, then the pending exception fetched and normalized (traceback attached). Returns it (new reference). */
PyObject *pypa_cpy_catch(PyThreadState *ts, PypaFrame *f);
/* PUSH_EXC_INFO: `value` (borrowed) becomes the handled exception; returns the previous one or None (new ref). */
PyObject *pypa_cpy_push_exc_info(PyThreadState *ts, PyObject *value);
/* POP_EXCEPT: `prev` (stolen) becomes the handled exception again. */
void pypa_cpy_pop_except(PyThreadState *ts, PyObject *prev);
/* CHECK_EXC_MATCH: 1/0 whether exc matches type (a class or tuple of classes); -1 with TypeError set when type
   cannot be caught. Borrows both. */
int pypa_cpy_check_exc_match(PyThreadState *ts, PyObject *exc, PyObject *type);
/* BEFORE_WITH's lookups: mgr's __enter__ (which = 0) or __exit__ (1) found on its type and bound, as the `with`
   statement finds them (new reference); NULL with CPython's TypeError (or the lookup's error) set. */
PyObject *pypa_cpy_with_method(PyThreadState *ts, PyObject *mgr, int which);

/* -- Code objects ----------------------------------------------------------------------------------------------- */
int pypa_code_firsttraceable(PyCodeObject *co);
int pypa_code_nlocalsplus(PyCodeObject *co);
PyObject *pypa_code_consts(PyCodeObject *co); /* co_consts, borrowed */
/* Attribute caches (attr_cache.c): the cache word of attribute `name` of obj (and of its type's other instances
 * laid out the same) and the version tag it holds under; 0 when it cannot be cached. The word's low two bits say
 * where the attribute is: */
enum PypaAttrWord {
    PYPA_ATTR_WORD_VALUES = 0, /* (index << 2): the index-th inline value */
    PYPA_ATTR_WORD_SLOT = 1,   /* (offset << 2) | 1: a __slots__ member at that offset */
    PYPA_ATTR_WORD_DICT = 2    /* (hint << 48) | name | 2: entry `hint` of the instance's dict, when its key is name
                                  (the interned str, 16-byte aligned, below 2**47), as LOAD_ATTR_WITH_HINT */
};
int pypa_attr_cache_word(PyObject *obj, PyObject *name, int store, uint32_t *version, int64_t *word);
/* Where the value of the dict entry a PYPA_ATTR_WORD_DICT word names is, when obj (of the type the word was made
 * for) still has that dict with that key at that entry (LOAD_ATTR_WITH_HINT's checks); NULL otherwise. */
PyObject **pypa_attr_dict_slot(PyObject *obj, int64_t word);
/* Whether obj (an instance whose inline values became a dict) has a dict of str keys only without `name` (an
 * interned str): a lookup that runs no Python code. */
int pypa_instance_dict_lacks(PyObject *obj, PyObject *name);
/* obj.name (a new reference) from that dict, where the generic lookup would take it from there (no data descriptor
 * of the class comes first); NULL (no exception) otherwise. */
PyObject *pypa_instance_dict_value(PyObject *obj, PyObject *name);
/* obj.name = value into that dict (value not consumed), where the generic store would put it there; 0 (nothing
 * done, no exception) otherwise. */
int pypa_instance_dict_store(PyObject *obj, PyObject *name, PyObject *value);
/* Method caches (attr_cache.c): whether obj.name is a Python function of obj's type (values: a class attribute
 * that is no descriptor) no instance can shadow while the cache's words hold (version tag, the function or value,
 * the shared keys or NULL, their entry count). */
int pypa_method_cache(PyObject *obj, PyObject *name, int values, uint32_t *version, PyObject **func, void **keys,
                      int64_t *nentries);
/* Class attributes (attr_cache.c): `tp.name` of a class whose metaclass is type, valid while tp's version tag is
 * *version: *word the value (borrowed: tp's dict holds it), or a staticmethod's address | 1 (its callable is read
 * at pypa_staticmethod_callable_offset); 0 for anything else (a classmethod, a property, a metaclass attribute). */
int pypa_class_attr(PyTypeObject *tp, PyObject *name, uint32_t *version, int64_t *word);
int pypa_staticmethod_callable_offset(void);
/* A class's own slot functions (attr_cache.c): the Python function tp's slot for BINARY_OP's oparg `which` calls
 * (PYPA_SUBSCR_GET: BINARY_SUBSCR's, PYPA_SUBSCR_SET: STORE_SUBSCR's), or (which = -1) the __init__ `tp(...)` runs after object's __new__; 0 when
 * tp's slot is not that. */
int pypa_type_method(PyTypeObject *tp, int which, uint32_t *version, PyObject **func);
/* `self.NAME = PARAM` stores of a function straight from its parameters (attr_cache.c): their count, up to max. */
int pypa_param_stores(PyObject *func, int *params, PyObject **names, int max);
/* Whether o is exactly the array module's array (arrays.c), found without importing it. */
int pypa_array_check_exact(PyObject *o);
/* Lists (lists.c): items [lo, lo + n) of `list` and [0, n) of `value` (another list) change places. */
void pypa_list_swap_items(PyObject *list, Py_ssize_t lo, PyObject *value, Py_ssize_t n);
/* The set inline values of an instance (attr_cache.c): their count, up to max; names and values borrowed. */
int pypa_instance_values(PyObject *obj, PyObject **names, PyObject **values, int max);
/* Operator opargs: BINARY_OP's (binary_ops.def: NB_* order, then the in-place forms), then COMPARE_OP's from
   PYPA_COMPARE_BASE (Py_LT ... Py_GE). */
#define PYPA_NB_COUNT 13
#define PYPA_COMPARE_BASE (2 * PYPA_NB_COUNT)
/* BINARY_SUBSCR `a[k]`, after COMPARE_OP's: a class's __getitem__, which its mapping slot calls. */
#define PYPA_SUBSCR_GET (PYPA_COMPARE_BASE + 6)
/* STORE_SUBSCR `a[k] = v`: a class's __setitem__, which its mapping slot calls. */
#define PYPA_SUBSCR_SET (PYPA_COMPARE_BASE + 7)
/* The dunder an operator oparg calls on an instance ("__add__" for + and +=). */
const char *pypa_binary_dunder(int oparg);
/* The operator's symbol as CPython's TypeErrors name it ("+", "+=", "<"). */
const char *pypa_binary_symbol(int oparg);
/* The instance object's __new__ makes for tp (before __init__), or NULL with an exception. */
PyObject *pypa_new_instance(PyTypeObject *tp);
/* Dicts (dict_keys.c): 1 when `dict[key]` and `dict[key] = v` on this exact dict run no Python code (its keys and
   `key` are all exact str, int, float, bool or None, so every comparison is C), else 0. */
int pypa_dict_plain_for(PyObject *dict, PyObject *key);
/* After such a store: keeps the dict known plain under its new version. */
void pypa_dict_still_plain(PyObject *dict, PyObject *key);
/* Sets binary_op1's TypeError for BINARY_OP's oparg on operands of types a and b. */
void pypa_binop_type_error(int oparg, PyTypeObject *a, PyTypeObject *b);
/* Offsets of internal structs native code reads (their headers are not public): a heap type's shared keys, and
   their entry count (Py_ssize_t). */
extern const int pypa_heaptype_cached_keys_offset;
extern const int pypa_dictkeys_nentries_offset;
int pypa_code_ncells_free(PyCodeObject *co);  /* cell + free variables */

/* -- Opcode tables (private copies of 3.11's) ------------------------------------------------------------------- */
int pypa_opcode_base(int op);          /* specialized -> base opcode */
int pypa_opcode_cache_entries(int op); /* inline CACHE units after a base opcode */

/* -- Eval breaker ----------------------------------------------------------------------------------------------- */
/* Address of the interpreter's eval_breaker word, polled by native loops at backward jumps. */
const int *pypa_cpy_eval_breaker_addr(PyThreadState *ts);
/* Do what the interpreter would at a backward jump: hand the GIL over when asked, run signal handlers and pending
 * calls. Returns 0 to continue natively, -1 with an exception set, 1 when something only the interpreter can handle
 * is pending (async exception): the caller exits to the interpreter. */
int pypa_cpy_handle_eval_breaker(PyThreadState *ts);

#ifdef __cplusplus
}
#endif
#endif
