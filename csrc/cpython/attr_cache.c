/* Attribute inline caches for CPython 3.11 instances: what LOAD_ATTR_INSTANCE_VALUE, LOAD_ATTR_SLOT and
 * STORE_ATTR_INSTANCE_VALUE (Python/specialize.c) check before they cache, and the layout native code reads under
 * the cache: an instance's inline values (PyDictValues, one pointer per key of its type's shared keys) and a
 * __slots__ member's offset. */
#include "cpython/cpy.h"
#include "opcode.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_object.h"
#include "structmember.h"

_Static_assert(offsetof(PyDictValues, values) == 0, "native code indexes the values from their start");
#define FIELD_SIZE_OF(type, field) sizeof(((type *)0)->field)

/* The position of `name` among the shared keys of `tp`'s instances (-1: not there). The keys only grow, so a
 * position stays valid for the keys' lifetime, which is the type's (a type that drops them changes its version). */
static Py_ssize_t shared_key_index(PyTypeObject *tp, PyObject *name) {
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) return -1;
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (keys == NULL || keys->dk_kind == DICT_KEYS_GENERAL) return -1; /* shared keys are split: str keys only */
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    /* Names are interned: identity first, and only then the comparison of the characters. */
    for (Py_ssize_t i = 0; i < keys->dk_nentries; i++)
        if (entries[i].me_key == name) return i;
    for (Py_ssize_t i = 0; i < keys->dk_nentries; i++) {
        PyObject *k = entries[i].me_key;
        if (k != NULL && _PyUnicode_EQ(k, name)) return i;
    }
    return -1;
}

/* The str-keyed dict an instance's values became (NULL: it has inline values, no dict, or a dict whose keys are
 * not all str, whose lookup could run their __eq__): what CPython 3.11's LOAD_ATTR_WITH_HINT reads. Instances get
 * one when their type's shared keys are full (in 3.11 every new instance shrinks the room for new keys by one, so
 * attributes first set after a few dozen instances exist go to a dict: pyperformance go's squares), or when their
 * __dict__ was asked for. */
static PyDictObject *materialized_dict(PyObject *obj) {
    if (!(Py_TYPE(obj)->tp_flags & Py_TPFLAGS_MANAGED_DICT) || *_PyObject_ValuesPointer(obj) != NULL) return NULL;
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(obj);
    if (dict == NULL || !PyDict_CheckExact(dict) || dict->ma_keys->dk_kind == DICT_KEYS_GENERAL) return NULL;
    return dict;
}

/* The entry of `name` in a combined str-keyed dict, by identity (names are interned), or -1. */
static Py_ssize_t dict_entry_of(PyDictObject *dict, PyObject *name) {
    PyDictKeysObject *keys = dict->ma_keys;
    if (dict->ma_values != NULL || keys->dk_kind != DICT_KEYS_UNICODE) return -1;
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    for (Py_ssize_t i = 0; i < keys->dk_nentries; i++)
        if (entries[i].me_key == name && entries[i].me_value != NULL) return i;
    return -1;
}

/* Where the attribute `name` of obj (and of the other instances of its type) is, as a cache word (*word, PypaAttrWord
 * in cpy.h), valid while the type's version tag is `*version`: an inline value, a __slots__ member, or (reads only)
 * an entry of the instance's dict, checked at each use against its key. Returns 0 when it cannot be cached (nothing
 * written): a custom __getattribute__/__setattr__, a data descriptor (a property) of that name, no valid version
 * tag, or an attribute that lives elsewhere (the class, a dict without it). */
int pypa_attr_cache_word(PyObject *obj, PyObject *name, int store, uint32_t *version, int64_t *word) {
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name)) return 0;
    if (store ? tp->tp_setattro != PyObject_GenericSetAttr : tp->tp_getattro != PyObject_GenericGetAttr) return 0;
    PyObject *descr = _PyType_Lookup(tp, name); /* also gives the type a version tag where it can have one */
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG) || tp->tp_version_tag == 0) return 0;
    int64_t w;
    if (descr != NULL && Py_IS_TYPE(descr, &PyMemberDescr_Type)) {
        PyMemberDef *m = ((PyMemberDescrObject *)descr)->d_member;
        if (m->type != T_OBJECT_EX || (m->flags & READONLY) || m->offset <= 0) return 0;
        w = ((int64_t)m->offset << 2) | PYPA_ATTR_WORD_SLOT;
    } else {
        if (descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL) return 0; /* a data descriptor wins */
        if ((tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) && *_PyObject_ValuesPointer(obj) == NULL) {
            /* A store into a dict changes its version (a counter native code cannot reach): the generic path. */
            PyDictObject *dict = materialized_dict(obj);
            if (store || dict == NULL) return 0;
            Py_ssize_t hint = dict_entry_of(dict, name);
            uintptr_t bits = (uintptr_t)name;
            if (hint < 0 || hint >= ((Py_ssize_t)1 << 15) || bits >= ((uintptr_t)1 << 47) || (bits & 3)) return 0;
            w = (int64_t)(((uint64_t)hint << 48) | bits | PYPA_ATTR_WORD_DICT);
        } else {
            Py_ssize_t index = shared_key_index(tp, name);
            if (index < 0) return 0;
            w = ((int64_t)index << 2) | PYPA_ATTR_WORD_VALUES;
        }
    }
    *version = tp->tp_version_tag;
    *word = w;
    return 1;
}

PyObject **pypa_attr_dict_slot(PyObject *obj, int64_t word) {
    if (*_PyObject_ValuesPointer(obj) != NULL) return NULL;
    PyDictObject *dict = (PyDictObject *)*_PyObject_ManagedDictPointer(obj);
    if (dict == NULL || dict->ma_values != NULL) return NULL;
    PyDictKeysObject *keys = dict->ma_keys;
    uint64_t hint = (uint64_t)word >> 48;
    if (keys->dk_kind != DICT_KEYS_UNICODE || hint >= (uint64_t)keys->dk_nentries) return NULL;
    PyDictUnicodeEntry *entry = DK_UNICODE_ENTRIES(keys) + hint;
    if ((uint64_t)(uintptr_t)entry->me_key != ((uint64_t)word & 0x0000fffffffffffcULL)) return NULL;
    return &entry->me_value;
}

PyObject *pypa_instance_dict_value(PyObject *obj, PyObject *name) {
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp->tp_getattro != PyObject_GenericGetAttr) return NULL;
    PyDictObject *dict = materialized_dict(obj);
    Py_hash_t hash = ((PyASCIIObject *)name)->hash;
    if (dict == NULL || hash == -1) return NULL;
    /* A data descriptor of the class (a property, a __slots__ member) comes before the instance's dict. */
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL) return NULL;
    PyObject *v = _PyDict_GetItem_KnownHash((PyObject *)dict, name, hash);
    if (v == NULL) {
        PyErr_Clear();
        return NULL;
    }
    Py_INCREF(v);
    return v;
}

int pypa_instance_dict_store(PyObject *obj, PyObject *name, PyObject *value) {
    PyTypeObject *tp = Py_TYPE(obj);
    if (tp->tp_setattro != PyObject_GenericSetAttr) return 0;
    PyDictObject *dict = materialized_dict(obj);
    if (dict == NULL || ((PyASCIIObject *)name)->hash == -1) return 0;
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr != NULL && Py_TYPE(descr)->tp_descr_set != NULL) return 0;
    /* A str key into a str-keyed dict: no code runs but the old value's finalizer, as in the interpreter. */
    if (PyDict_SetItem((PyObject *)dict, name, value) < 0) {
        PyErr_Clear(); /* the interpreter does the store again, and raises what it raises */
        return 0;
    }
    return 1;
}

int pypa_instance_dict_lacks(PyObject *obj, PyObject *name) {
    PyDictObject *dict = materialized_dict(obj);
    Py_hash_t hash = ((PyASCIIObject *)name)->hash;
    if (dict == NULL || hash == -1) return 0;
    return _PyDict_GetItem_KnownHash((PyObject *)dict, name, hash) == NULL && !PyErr_Occurred();
}

/* Method caches (LOAD_METHOD_WITH_VALUES / _NO_DICT / _WITH_DICT): `obj.name` is a plain Python function (or a
 * builtin type's method descriptor) of obj's type that no instance can shadow while the cache holds: the type keeps
 * its version tag, and for instances with inline values, they still have them and the shared keys still do not
 * hold the name (they only grow: the same keys with as many entries); an instance whose values became a dict is
 * checked by a lookup in that dict at each use (pypa_instance_dict_lacks). Fills *version, *func (borrowed: the
 * type's dict holds it while the version stands), *keys (NULL when instances have no __dict__ at all) and
 * *nentries; 0 when not cacheable. */
int pypa_method_cache(PyObject *obj, PyObject *name, int values, uint32_t *version, PyObject **func, void **keys,
                      int64_t *nentries) {
    PyTypeObject *tp = Py_TYPE(obj);
    if (!PyUnicode_CheckExact(name) || tp->tp_getattro != PyObject_GenericGetAttr) return 0;
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr == NULL) return 0;
    if (values) {
        /* A class attribute that is no descriptor (a constant, a default): what `obj.name` gives as it is, where no
           instance attribute shadows it (LOAD_ATTR_NONDESCRIPTOR_WITH_VALUES of CPython 3.12). */
        if (Py_TYPE(descr)->tp_descr_get != NULL) return 0;
    } else if (!(Py_IS_TYPE(descr, &PyFunction_Type) || Py_IS_TYPE(descr, &PyMethodDescr_Type))) {
        /* A Python function, or a method of a builtin type (str.split, list.append): both called with self first,
           as LOAD_METHOD leaves them (PRECALL_NO_KW_METHOD_DESCRIPTOR_*: no bound method). */
        return 0;
    }
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG) || tp->tp_version_tag == 0) return 0;
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyDictKeysObject *k = ((PyHeapTypeObject *)tp)->ht_cached_keys;
        if (k == NULL || shared_key_index(tp, name) >= 0) return 0;
        if (*_PyObject_ValuesPointer(obj) == NULL && !pypa_instance_dict_lacks(obj, name)) return 0;
        *keys = k;
        *nentries = k->dk_nentries;
    } else if (tp->tp_dictoffset != 0) {
        return 0; /* a classic instance dict: it may shadow the method at any time */
    } else {
        *keys = NULL;
        *nentries = 0;
    }
    *version = tp->tp_version_tag;
    *func = descr;
    return 1;
}

const int pypa_heaptype_cached_keys_offset = (int)offsetof(PyHeapTypeObject, ht_cached_keys);
const int pypa_dictkeys_nentries_offset = (int)offsetof(PyDictKeysObject, dk_nentries);
_Static_assert(FIELD_SIZE_OF(PyDictKeysObject, dk_nentries) == 8, "native code loads it as i64");

/* The dunders BINARY_OP's oparg calls on a user class, and their symbols (binary_ops.def). */
#define BINARY_OP_KIND(name, symbol, dunder, idunder) dunder,
static const char *const kBinaryDunders[] = {
#include "cpython/binary_ops.def"
};
#undef BINARY_OP_KIND
#define BINARY_OP_KIND(name, symbol, dunder, idunder) idunder,
static const char *const kInplaceDunders[] = {
#include "cpython/binary_ops.def"
};
#undef BINARY_OP_KIND
#define BINARY_OP_KIND(name, symbol, dunder, idunder) symbol,
static const char *const kBinarySymbols[] = {
#include "cpython/binary_ops.def"
};
#undef BINARY_OP_KIND
#define BINARY_OP_KIND(name, symbol, dunder, idunder) symbol "=",
static const char *const kInplaceSymbols[] = {
#include "cpython/binary_ops.def"
};
#undef BINARY_OP_KIND
_Static_assert(sizeof kBinaryDunders / sizeof *kBinaryDunders == PYPA_NB_COUNT, "binary_ops.def: 13 NB_* kinds");

/* COMPARE_OP's oparg order (Py_LT ... Py_GE), and the reflected operation do_richcompare tries second. */
static const char *const kCompareDunders[] = {"__lt__", "__le__", "__eq__", "__ne__", "__gt__", "__ge__"};
static const char *const kCompareSymbols[] = {"<", "<=", "==", "!=", ">", ">="};
static const int kSwappedCompare[] = {4, 5, 2, 3, 0, 1};

const char *pypa_binary_symbol(int oparg) {
    if (oparg >= PYPA_COMPARE_BASE) return kCompareSymbols[oparg - PYPA_COMPARE_BASE];
    return oparg < PYPA_NB_COUNT ? kBinarySymbols[oparg] : kInplaceSymbols[oparg - PYPA_NB_COUNT];
}

const char *pypa_binary_dunder(int oparg) {
    if (oparg == PYPA_SUBSCR_GET) return "__getitem__";
    if (oparg == PYPA_SUBSCR_SET) return "__setitem__";
    return oparg >= PYPA_COMPARE_BASE ? kCompareDunders[oparg - PYPA_COMPARE_BASE] : kBinaryDunders[oparg % PYPA_NB_COUNT];
}

/* `tp`'s slot function for __init__ (slot_tp_init), read off a class made for it: typeobject.c keeps it static. */
static initproc python_init_slot(void) {
    static initproc slot = NULL;
    if (slot == NULL) {
        PyObject *cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){s:O}", "_pypaccel_probe", "__init__",
                                              Py_None);
        /* (__init__ = None still takes the Python-level slot: update_one_slot sees a non-wrapper attribute.) */
        if (cls == NULL) {
            PyErr_Clear();
            return NULL;
        }
        slot = ((PyTypeObject *)cls)->tp_init;
        Py_DECREF(cls);
    }
    return slot;
}

/* The mapping slots a class with a Python __getitem__ / __setitem__ gets (slot_mp_subscript, slot_mp_ass_subscript,
 * static in typeobject.c), read off a class made for them. */
static PyMappingMethods *python_mapping_slots(void) {
    static PyMappingMethods slots;
    static int found = 0;
    if (!found) {
        PyObject *cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s(){s:O,s:O}", "_pypaccel_probe",
                                              "__getitem__", Py_None, "__setitem__", Py_None);
        if (cls == NULL) {
            PyErr_Clear();
            return NULL;
        }
        PyMappingMethods *m = ((PyTypeObject *)cls)->tp_as_mapping;
        if (m != NULL) {
            slots = *m;
            found = 1;
        }
        Py_DECREF(cls);
    }
    return found ? &slots : NULL;
}

static PyObject *lookup_function(PyTypeObject *tp, const char *name) {
    PyObject *n = PyUnicode_InternFromString(name);
    if (n == NULL) {
        PyErr_Clear();
        return NULL;
    }
    PyObject *f = _PyType_Lookup(tp, n); /* borrowed; also assigns a version tag where it can */
    Py_DECREF(n);
    return f;
}

/* The Python function a class's slot calls, cached per version tag (slot_kinds.def TypeMethodCache):
 *  - which = PYPA_SUBSCR_GET: BINARY_SUBSCR on an instance of tp, whose mapping slot (slot_mp_subscript) calls the
 *    class's __getitem__; PYPA_SUBSCR_SET: STORE_SUBSCR, slot_mp_ass_subscript and __setitem__.
 *  - which in [0, 26): BINARY_OP's oparg on an instance of tp. Its slot (slot_nb_*) calls the class's __op__ with the
 *    instance first. For an in-place oparg, only when the class has no __iop__ (then the binary slot runs, as
 *    binary_iop1 does). ** is left out: its error message is ternary_op's.
 *  - which in [26, 32): COMPARE_OP's oparg + 26, an ordering (< <= > >=) on an instance of tp: slot_tp_richcompare
 *    calls the class's __lt__ (...); only when the reflected method do_richcompare would try after a NotImplemented
 *    is object's own (which answers NotImplemented to an ordering), so that NotImplemented means its TypeError.
 *  - which = -1: calling tp itself, `tp(args)`: type_call with object's __new__ (object_new allocates and makes the
 *    instance values) and a Python __init__ (slot_tp_init), for a class whose metaclass is type itself.
 * Fills *version and *func (borrowed: tp's dict holds it while the version stands); 0 when not such a class. */
int pypa_type_method(PyTypeObject *tp, int which, uint32_t *version, PyObject **func) {
    const char *name;
    if (which == -1) {
        if (!Py_IS_TYPE((PyObject *)tp, &PyType_Type)) return 0;
        if (tp->tp_new != PyBaseObject_Type.tp_new || tp->tp_alloc != PyType_GenericAlloc) return 0;
        if (tp->tp_flags & Py_TPFLAGS_IS_ABSTRACT) return 0;
        if (tp->tp_init == NULL || tp->tp_init != python_init_slot()) return 0;
        name = "__init__";
    } else if (which == PYPA_SUBSCR_GET) {
        /* PyObject_GetItem asks the mapping slot first; slot_mp_subscript calls the class's __getitem__ with the
           instance and the key, whatever the key is, and returns what it returns. */
        PyMappingMethods *slots = python_mapping_slots();
        if (slots == NULL || tp->tp_as_mapping == NULL || tp->tp_as_mapping->mp_subscript != slots->mp_subscript)
            return 0;
        name = "__getitem__";
    } else if (which == PYPA_SUBSCR_SET) {
        /* PyObject_SetItem likewise: slot_mp_ass_subscript calls __setitem__(instance, key, value) and drops its
           result (a deletion, which calls __delitem__, is not this). */
        PyMappingMethods *slots = python_mapping_slots();
        if (slots == NULL || tp->tp_as_mapping == NULL ||
            tp->tp_as_mapping->mp_ass_subscript != slots->mp_ass_subscript)
            return 0;
        name = "__setitem__";
    } else if (which >= PYPA_COMPARE_BASE) {
        int op = which - PYPA_COMPARE_BASE;
        if (op >= 6 || op == 2 || op == 3) return 0; /* == and != have object's identity fallback */
        const char *reflected = kCompareDunders[kSwappedCompare[op]];
        PyObject *own = lookup_function(&PyBaseObject_Type, reflected);
        if (own == NULL || lookup_function(tp, reflected) != own) return 0;
        name = kCompareDunders[op];
    } else {
        if (which < 0 || which % PYPA_NB_COUNT == 8 /* ** */) return 0;
        if (which >= PYPA_NB_COUNT && lookup_function(tp, kInplaceDunders[which - PYPA_NB_COUNT]) != NULL) return 0;
        name = kBinaryDunders[which % PYPA_NB_COUNT];
    }
    PyObject *f = lookup_function(tp, name);
    if (f == NULL || !Py_IS_TYPE(f, &PyFunction_Type)) return 0;
    if (!PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG) || tp->tp_version_tag == 0) return 0;
    *version = tp->tp_version_tag;
    *func = f;
    return 1;
}

/* staticmethod's layout (Objects/funcobject.c keeps it private): the callable it wraps. */
typedef struct {
    PyObject_HEAD
    PyObject *sm_callable;
    PyObject *sm_dict;
} pypa_staticmethod;

int pypa_staticmethod_callable_offset(void) { return (int)offsetof(pypa_staticmethod, sm_callable); }

int pypa_class_attr(PyTypeObject *tp, PyObject *name, uint32_t *version, int64_t *word) {
    /* type_getattro looks in the metaclass first (its data descriptors win, its other attributes come last): a
       metaclass of `type` itself, whose attributes (static type: they never change) do not include the name. */
    if (!Py_IS_TYPE((PyObject *)tp, &PyType_Type) || !PyUnicode_CheckExact(name)) return 0;
    if (_PyType_Lookup(&PyType_Type, name) != NULL) return 0;
    PyObject *descr = _PyType_Lookup(tp, name);
    if (descr == NULL || !PyType_HasFeature(tp, Py_TPFLAGS_VALID_VERSION_TAG) || tp->tp_version_tag == 0) return 0;
    if (Py_TYPE(descr)->tp_descr_get == NULL || Py_IS_TYPE(descr, &PyFunction_Type)) {
        *word = (int64_t)(intptr_t)descr; /* itself (a function's __get__ with no instance gives the function) */
    } else if (Py_IS_TYPE(descr, &PyStaticMethod_Type) &&
               PyStaticMethod_Type.tp_basicsize == (Py_ssize_t)sizeof(pypa_staticmethod)) {
        /* What it wraps, read from it at each use (staticmethod.__init__ may change it in place). */
        if (((pypa_staticmethod *)descr)->sm_callable == NULL) return 0;
        *word = (int64_t)(intptr_t)descr | 1;
    } else {
        return 0; /* a classmethod (a new bound method each time), a property, another descriptor */
    }
    *version = tp->tp_version_tag;
    return 1;
}

/* `tp()` with no arguments to object's __new__: the instance type_call gets before it runs __init__. */
PyObject *pypa_new_instance(PyTypeObject *tp) {
    PyObject *empty = PyTuple_New(0);
    if (empty == NULL) return NULL;
    PyObject *obj = PyBaseObject_Type.tp_new(tp, empty, NULL);
    Py_DECREF(empty);
    return obj;
}

/* The TypeError binary_op1 (or do_richcompare, for an oparg from 26 on) ends with when both operands' slots answered
 * NotImplemented. */
void pypa_binop_type_error(int oparg, PyTypeObject *a, PyTypeObject *b) {
    if (oparg >= PYPA_COMPARE_BASE)
        PyErr_Format(PyExc_TypeError, "'%s' not supported between instances of '%.100s' and '%.100s'",
                     pypa_binary_symbol(oparg), a->tp_name, b->tp_name);
    else
        PyErr_Format(PyExc_TypeError, "unsupported operand type(s) for %.100s: '%.100s' and '%.100s'",
                     pypa_binary_symbol(oparg), a->tp_name, b->tp_name);
}

/* The stores `self.NAME = PARAM` in a function's code, straight from a parameter (LOAD_FAST param, LOAD_FAST 0,
 * STORE_ATTR name: what an __init__ does with its arguments): up to `max` of them into params[] (the parameter's
 * index, from 1) and names[] (borrowed from co_names), in code order. */
int pypa_param_stores(PyObject *func, int *params, PyObject **names, int max) {
    PyCodeObject *co = (PyCodeObject *)PyFunction_GET_CODE(func);
    PyObject *bytes = PyCode_GetCode(co);
    if (bytes == NULL) {
        PyErr_Clear();
        return 0;
    }
    const uint8_t *code = (const uint8_t *)PyBytes_AS_STRING(bytes);
    Py_ssize_t n = PyBytes_GET_SIZE(bytes) / 2;
    int found = 0;
    for (Py_ssize_t i = 0; i + 2 < n && found < max; i++) {
        const uint8_t *u = code + 2 * i;
        if (u[0] != LOAD_FAST || u[2] != LOAD_FAST || u[3] != 0 || u[4] != STORE_ATTR) continue;
        if (u[1] == 0 || u[1] >= co->co_argcount || u[5] >= PyTuple_GET_SIZE(co->co_names)) continue;
        params[found] = u[1];
        names[found] = PyTuple_GET_ITEM(co->co_names, u[5]);
        found++;
    }
    Py_DECREF(bytes);
    return found;
}

/* The attributes an instance holds in its inline values (its type's shared keys, in key order): up to `max` names and
 * values (both borrowed) of the set ones. 0 for an instance without inline values (a dict taken over, __slots__). */
int pypa_instance_values(PyObject *obj, PyObject **names, PyObject **values, int max) {
    PyTypeObject *tp = Py_TYPE(obj);
    if (!(tp->tp_flags & Py_TPFLAGS_MANAGED_DICT)) return 0;
    PyDictValues *vals = *_PyObject_ValuesPointer(obj);
    PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (vals == NULL || keys == NULL || keys->dk_kind == DICT_KEYS_GENERAL) return 0;
    PyDictUnicodeEntry *entries = DK_UNICODE_ENTRIES(keys);
    int n = 0;
    for (Py_ssize_t i = 0; i < keys->dk_nentries && n < max; i++) {
        if (entries[i].me_key == NULL || vals->values[i] == NULL) continue;
        names[n] = entries[i].me_key;
        values[n] = vals->values[i];
        n++;
    }
    return n;
}
