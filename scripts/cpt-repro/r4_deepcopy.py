# r4_deepcopy.py
import copy
print(copy.deepcopy([37.5, 5.625]))
