/* Whether a dict lookup or store runs no Python code. Looking up a key compares it (==) with every stored key of the
 * same hash; a stored key of a user class runs its __eq__. A dict is "plain" when all its keys are exact str, int,
 * float, bool or None, whose comparisons are C code with no side effects: then looking up or storing one such key
 * runs nothing of the program's. A str-keyed dict (its keys' kind says so) is plain for a str key at once; any other
 * is scanned once, and the answer kept per (dict, ma_version_tag): 3.11 gives every change of any dict a new
 * version from one global counter, so a pair names one content, and a dict freed and reallocated at the same
 * address never matches an old entry. */
#include "cpython/cpy.h"
#include "internal/pycore_dict.h"

static int plain_key(PyObject *k) {
    PyTypeObject *t = Py_TYPE(k);
    return t == &PyUnicode_Type || t == &PyLong_Type || t == &PyFloat_Type || t == &PyBool_Type || k == Py_None;
}

#define PLAIN_DICTS 64 /* recently scanned dicts, direct-mapped by address */
static struct {
    PyObject *dict;
    uint64_t version;
} plain_dicts[PLAIN_DICTS];

static size_t slot_of(PyObject *dict) { return ((uintptr_t)dict >> 4) % PLAIN_DICTS; }

int pypa_dict_plain_for(PyObject *dict, PyObject *key) {
    if (!PyDict_CheckExact(dict) || !plain_key(key)) return 0;
    PyDictObject *d = (PyDictObject *)dict;
    if (PyUnicode_CheckExact(key) && d->ma_keys->dk_kind != DICT_KEYS_GENERAL) return 1; /* str keys only */
    size_t s = slot_of(dict);
    if (plain_dicts[s].dict == dict && plain_dicts[s].version == d->ma_version_tag) return 1;
    if (PyDict_GET_SIZE(dict) > 1000) return 0; /* (a scan per change of a big dict would cost more than it saves) */
    Py_ssize_t pos = 0;
    PyObject *k, *v;
    while (PyDict_Next(dict, &pos, &k, &v))
        if (!plain_key(k)) return 0;
    plain_dicts[s].dict = dict;
    plain_dicts[s].version = d->ma_version_tag;
    return 1;
}

void pypa_dict_still_plain(PyObject *dict, PyObject *key) {
    /* After a store of a plain key into a plain dict: the new version is plain too. */
    size_t s = slot_of(dict);
    if (plain_key(key) && plain_dicts[s].dict == dict) plain_dicts[s].version = ((PyDictObject *)dict)->ma_version_tag;
}
