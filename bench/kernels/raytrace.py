"""Object kernel: a small ray tracer built on a 3-vector class with operators.

Usage: python raytrace.py [WIDTH]   (default WIDTH = 360; the image is WIDTH x 3/4 WIDTH pixels)
`Vec` has `__add__`, `__sub__`, `__mul__` (by a number), `dot`, `length` and `normalized`; every step of the
tracing makes new Vec temporaries. Spheres (a very large one is the floor) are lit by one point light with
shadow rays, and reflective spheres reflect up to two bounces. Prints the sum of the 0-255 pixel channels and
the colour of the centre pixel. Runs unchanged under plain CPython and under `python -m pypaccel run`.
"""
import math
import sys

EPSILON = 1e-6
MAX_DEPTH = 2


class Vec:
    def __init__(self, x, y, z):
        self.x = x
        self.y = y
        self.z = z

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y, self.z + other.z)

    def __sub__(self, other):
        return Vec(self.x - other.x, self.y - other.y, self.z - other.z)

    def __mul__(self, k):
        return Vec(self.x * k, self.y * k, self.z * k)

    def dot(self, other):
        return self.x * other.x + self.y * other.y + self.z * other.z

    def length(self):
        return math.sqrt(self.dot(self))

    def normalized(self):
        return self * (1.0 / self.length())

    def tint(self, other):
        """Component-wise product (a colour filtered by a surface colour)."""
        return Vec(self.x * other.x, self.y * other.y, self.z * other.z)


class Ray:
    def __init__(self, origin, direction):
        self.origin = origin
        self.direction = direction

    def at(self, t):
        return self.origin + self.direction * t


class Sphere:
    def __init__(self, centre, radius, colour, reflectivity):
        self.centre = centre
        self.radius = radius
        self.colour = colour
        self.reflectivity = reflectivity

    def intersect(self, ray):
        """Distance along the ray to the nearest hit in front of its origin, or None."""
        oc = ray.origin - self.centre
        b = oc.dot(ray.direction)
        c = oc.dot(oc) - self.radius * self.radius
        disc = b * b - c
        if disc < 0.0:
            return None
        root = math.sqrt(disc)
        t = -b - root
        if t > EPSILON:
            return t
        t = -b + root
        if t > EPSILON:
            return t
        return None

    def normal_at(self, point):
        return (point - self.centre).normalized()


class Scene:
    def __init__(self, spheres, light, ambient):
        self.spheres = spheres
        self.light = light
        self.ambient = ambient
        self.background = Vec(0.15, 0.2, 0.3)

    def nearest(self, ray):
        best_t = None
        best = None
        for sphere in self.spheres:
            t = sphere.intersect(ray)
            if t is not None and (best_t is None or t < best_t):
                best_t = t
                best = sphere
        return best_t, best

    def in_shadow(self, point, to_light, distance):
        ray = Ray(point, to_light)
        for sphere in self.spheres:
            t = sphere.intersect(ray)
            if t is not None and t < distance:
                return True
        return False

    def trace(self, ray, depth):
        t, sphere = self.nearest(ray)
        if sphere is None:
            return self.background * (1.0 - 0.5 * ray.direction.y)
        point = ray.at(t)
        normal = sphere.normal_at(point)
        offset = point + normal * 1e-4
        light_vec = self.light - point
        distance = light_vec.length()
        to_light = light_vec * (1.0 / distance)
        brightness = self.ambient
        lambert = normal.dot(to_light)
        if lambert > 0.0 and not self.in_shadow(offset, to_light, distance):
            brightness += lambert
        colour = sphere.colour * brightness
        if depth < MAX_DEPTH and sphere.reflectivity > 0.0:
            d = ray.direction
            reflected = d - normal * (2.0 * d.dot(normal))
            bounce = self.trace(Ray(offset, reflected.normalized()), depth + 1)
            colour = colour * (1.0 - sphere.reflectivity) + bounce.tint(sphere.colour) * sphere.reflectivity
        return colour


def channel(value):
    if value <= 0.0:
        return 0
    if value >= 1.0:
        return 255
    return int(value * 255.0)


def make_scene():
    spheres = [
        Sphere(Vec(0.0, -1000.0, 0.0), 999.0, Vec(0.6, 0.6, 0.55), 0.1),
        Sphere(Vec(0.0, 0.0, 3.0), 1.0, Vec(0.9, 0.2, 0.2), 0.4),
        Sphere(Vec(-2.2, -0.2, 4.0), 0.8, Vec(0.2, 0.8, 0.3), 0.2),
        Sphere(Vec(2.0, -0.4, 2.5), 0.6, Vec(0.3, 0.4, 0.9), 0.6),
        Sphere(Vec(0.8, -0.75, 1.4), 0.25, Vec(0.9, 0.9, 0.2), 0.0),
    ]
    return Scene(spheres, Vec(-4.0, 6.0, -2.0), 0.12)


def main(width):
    height = width * 3 // 4
    scene = make_scene()
    eye = Vec(0.0, 0.6, -3.0)
    total = 0
    centre = None
    for row in range(height):
        for col in range(width):
            x = (col - width / 2.0) / width
            y = (height / 2.0 - row) / width
            direction = (Vec(x, y, 0.0) + Vec(0.0, -0.15, 1.0)).normalized()
            colour = scene.trace(Ray(eye, direction), 0)
            pixel = (channel(colour.x), channel(colour.y), channel(colour.z))
            total += pixel[0] + pixel[1] + pixel[2]
            if row == height // 2 and col == width // 2:
                centre = pixel
    return "%d %d,%d,%d" % ((total,) + centre)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 360))
