"""Object kernel: a 5-body gravity simulation with positions and velocities in lists and bodies as tuples.

Usage: python nbody.py [STEPS]   (default 400000 time steps of 0.01)
Each step visits the 10 pairs of bodies with `for ((x1, y1, z1), v1, m1), ((x2, y2, z2), v2, m2) in pairs:`
(tuple unpacking of float lists, then float arithmetic on list elements), then moves every body. Prints the
total energy before and after, to 9 decimals. Runs unchanged under plain CPython and under `python -m pypaccel run`.
"""
import sys

GRAVITY = 4.0  # arbitrary units: only the arithmetic matters


def make_bodies():
    """A heavy centre and four light bodies on roughly circular orbits (made-up values), as
    ([x, y, z], [vx, vy, vz], mass); the centre's velocity cancels the total momentum."""
    bodies = [([0.0, 0.0, 0.0], [0.0, 0.0, 0.0], 40.0)]
    for k, (radius, mass, tilt) in enumerate([(1.0, 0.04, 0.01), (1.9, 0.012, -0.02),
                                               (3.1, 0.002, 0.015), (4.6, 0.0025, -0.005)]):
        speed = (GRAVITY * 40.0 / radius) ** 0.5
        sign = 1.0 if k % 2 == 0 else -1.0
        bodies.append(([radius * sign, 0.1 * k, tilt * radius], [0.05 * k, speed * sign, tilt], mass))
    px = py = pz = 0.0
    for (_, (vx, vy, vz), m) in bodies:
        px += vx * m
        py += vy * m
        pz += vz * m
    centre_v, centre_m = bodies[0][1], bodies[0][2]
    centre_v[0] = -px / centre_m
    centre_v[1] = -py / centre_m
    centre_v[2] = -pz / centre_m
    return bodies


def all_pairs(bodies):
    pairs = []
    for i in range(len(bodies)):
        for j in range(i + 1, len(bodies)):
            pairs.append((bodies[i], bodies[j]))
    return pairs


def energy(bodies, pairs):
    e = 0.0
    for (_, (vx, vy, vz), m) in bodies:
        e += 0.5 * m * (vx * vx + vy * vy + vz * vz)
    for ((x1, y1, z1), v1, m1), ((x2, y2, z2), v2, m2) in pairs:
        dx = x1 - x2
        dy = y1 - y2
        dz = z1 - z2
        e -= GRAVITY * m1 * m2 / (dx * dx + dy * dy + dz * dz) ** 0.5
    return e


def advance(bodies, pairs, dt, steps):
    for _ in range(steps):
        for ((x1, y1, z1), v1, m1), ((x2, y2, z2), v2, m2) in pairs:
            dx = x1 - x2
            dy = y1 - y2
            dz = z1 - z2
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt * GRAVITY / (d2 * d2 ** 0.5)
            b1 = m1 * mag
            b2 = m2 * mag
            v1[0] -= dx * b2
            v1[1] -= dy * b2
            v1[2] -= dz * b2
            v2[0] += dx * b1
            v2[1] += dy * b1
            v2[2] += dz * b1
        for (r, (vx, vy, vz), m) in bodies:
            r[0] += dt * vx
            r[1] += dt * vy
            r[2] += dt * vz


def main(steps):
    bodies = make_bodies()
    pairs = all_pairs(bodies)
    before = energy(bodies, pairs)
    advance(bodies, pairs, 0.01, steps)
    after = energy(bodies, pairs)
    return "%.9f %.9f" % (before, after)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 400000))
