# r4b_deepcopy_memo.py: the same without the copy module
_nil = []

def copy_atomic(x, memo):
    return x

def deepcopy(x, memo):           # copy.deepcopy, reduced
    d = id(x)
    y = memo.get(d, _nil)
    if y is not _nil:
        return y
    y = copy_atomic(x, memo)
    if y is not x:               # always true for an unboxed float: x is boxed anew
        memo[d] = y              # d is the id of a temporary box, freed by now
    return y

memo = {}
print(deepcopy(37.5, memo), deepcopy(5.625, memo))
