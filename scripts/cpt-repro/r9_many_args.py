# r9_many_args.py N
import sys, time
n = int(sys.argv[1])
params = ", ".join("a%d" % i for i in range(n))
exec("def f(%s):\n    return (%s,)\n" % (params, params))   # f(a0, ..., a{n-1}) -> tuple of its n arguments
t = time.perf_counter()
r = f(*range(n))                  # n int arguments: compiled as signature 'iii...i'
print(len(r), "first call took %.1f s" % (time.perf_counter() - t))
