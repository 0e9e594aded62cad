# r1_is_args.py
def same(a, b):                # unittest's assertIs, reduced
    return a is b

x = 1.1
print(same(x, x))
