# r2_nan_in.py: the argument is boxed for an instruction native code leaves at (CONTAINS_OP, then not compiled)
def has(member, container):
    return member in container

nan = float('nan')
print(has(nan, [nan]))
