# r2b_local_identity.py
def alias():
    x = 0.5
    y = x
    return y is x

def match_alias():
    x = 0.5
    match x:
        case float(z):             # binds z to the very object x
            return z is x

print(alias(), match_alias())
