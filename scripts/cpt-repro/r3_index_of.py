# r3_index_of.py
def index_of(seq, x):          # operator.indexOf's pure-Python version, reduced
    for i, item in enumerate(seq):
        if item is x or item == x:
            return i
    return -1

nan = float('nan')
print(index_of([nan], nan))
