"""Object kernel: an operating-system-like task scheduler (in the spirit of Richards): tasks of four classes with
polymorphic step() methods, packets passed between them in linked queues, everything in instance attributes.

Usage: python scheduler.py [N]   (default N = 400000 steps of the idle task)
An idle task wakes two device tasks in a pseudo-random order; a worker fills work packets with letters and sends
them to two handlers; a handler passes the letters one by one to its device in device packets; devices send the
packets back. The scheduler always runs the highest-priority task that is not held and has work or is not
waiting. Prints how many packets were sent, how many times a task was held and the letters the devices saw.
Runs unchanged under plain CPython and under `python -m pypaccel run`.
"""
import sys

IDLE, WORKER, HANDLER_A, HANDLER_B, DEVICE_A, DEVICE_B = range(6)
WORK, DEVICE = "work", "device"
LETTERS = 26


class Packet:
    def __init__(self, kind, owner, link=None):
        self.kind = kind
        self.owner = owner   # the task the packet goes back to
        self.link = link     # next packet in the queue that holds it
        self.datum = 0
        self.data = [0, 0, 0, 0]


def enqueue(head, packet):
    """Appends `packet` to the linked queue starting at `head`; returns the (possibly new) head."""
    packet.link = None
    if head is None:
        return packet
    last = head
    while last.link is not None:
        last = last.link
    last.link = packet
    return head


class Task:
    def __init__(self, scheduler, ident, priority, queue):
        self.scheduler = scheduler
        self.ident = ident
        self.priority = priority
        self.queue = queue
        self.waiting = queue is None
        self.held = False
        self.next = None     # the task of next lower priority

    def runnable(self):
        return not self.held and (self.queue is not None or not self.waiting)

    def step(self, packet):
        raise NotImplementedError


class IdleTask(Task):
    def __init__(self, scheduler, ident, priority, count):
        Task.__init__(self, scheduler, ident, priority, None)
        self.waiting = False
        self.count = count
        self.seed = 12345

    def step(self, packet):
        self.count -= 1
        if self.count == 0:
            return self.scheduler.hold(self)
        self.seed = (self.seed * 1103515245 + 12345) & 0x7FFFFFFF
        if self.seed & 0x400:
            return self.scheduler.release(self, DEVICE_A)
        return self.scheduler.release(self, DEVICE_B)


class WorkerTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        Task.__init__(self, scheduler, ident, priority, queue)
        self.destination = HANDLER_A
        self.letter = 0

    def step(self, packet):
        if packet is None:
            return self.scheduler.wait(self)
        self.destination = HANDLER_B if self.destination == HANDLER_A else HANDLER_A
        packet.owner = self.destination
        packet.datum = 0
        for i in range(len(packet.data)):
            self.letter = self.letter % LETTERS + 1
            packet.data[i] = self.letter
        return self.scheduler.send(self, packet, self.destination)


class HandlerTask(Task):
    def __init__(self, scheduler, ident, priority, queue):
        Task.__init__(self, scheduler, ident, priority, queue)
        self.work = None
        self.devices = None

    def step(self, packet):
        if packet is not None:
            if packet.kind == WORK:
                self.work = enqueue(self.work, packet)
            else:
                self.devices = enqueue(self.devices, packet)
        if self.work is not None:
            work = self.work
            if work.datum >= len(work.data):
                self.work = work.link
                return self.scheduler.send(self, work, WORKER)
            if self.devices is not None:
                device = self.devices
                self.devices = device.link
                device.datum = work.data[work.datum]
                work.datum += 1
                return self.scheduler.send(self, device, device.owner + 2)
        return self.scheduler.wait(self)


class DeviceTask(Task):
    def __init__(self, scheduler, ident, priority):
        Task.__init__(self, scheduler, ident, priority, None)
        self.pending = None
        self.seen = 0

    def step(self, packet):
        if packet is None:
            if self.pending is None:
                return self.scheduler.wait(self)
            packet = self.pending
            self.pending = None
            return self.scheduler.send(self, packet, packet.owner)
        self.pending = packet
        self.seen = (self.seen * 31 + packet.datum) % 1000003
        return self.scheduler.hold(self)


class Scheduler:
    def __init__(self):
        self.tasks = {}
        self.first = None
        self.sent = 0
        self.holds = 0

    def add(self, task):
        """Keeps the tasks linked in decreasing priority."""
        self.tasks[task.ident] = task
        if self.first is None or task.priority > self.first.priority:
            task.next = self.first
            self.first = task
            return
        before = self.first
        while before.next is not None and before.next.priority > task.priority:
            before = before.next
        task.next = before.next
        before.next = task

    def run(self):
        task = self.first
        while task is not None:
            if not task.runnable():
                task = task.next
                continue
            packet = None
            if task.waiting and task.queue is not None:
                packet = task.queue
                task.queue = packet.link
                task.waiting = False
            elif task.queue is not None and not task.waiting:
                packet = task.queue
                task.queue = packet.link
            task = task.step(packet)

    # What a task's step() returns: the task to look at next.
    def wait(self, task):
        task.waiting = True
        return task

    def hold(self, task):
        self.holds += 1
        task.held = True
        return task.next

    def release(self, task, ident):
        other = self.tasks[ident]
        other.held = False
        return other if other.priority > task.priority else task

    def send(self, task, packet, ident):
        self.sent += 1
        dest = self.tasks[ident]
        dest.queue = enqueue(dest.queue, packet)
        if dest.priority > task.priority and not dest.held:
            return dest
        return task


def main(n):
    s = Scheduler()
    s.add(IdleTask(s, IDLE, 0, n))
    work = Packet(WORK, WORKER, Packet(WORK, WORKER))
    s.add(WorkerTask(s, WORKER, 1000, work))
    devices_a = Packet(DEVICE, HANDLER_A, Packet(DEVICE, HANDLER_A, Packet(DEVICE, HANDLER_A)))
    devices_b = Packet(DEVICE, HANDLER_B, Packet(DEVICE, HANDLER_B, Packet(DEVICE, HANDLER_B)))
    s.add(HandlerTask(s, HANDLER_A, 2000, devices_a))
    s.add(HandlerTask(s, HANDLER_B, 3000, devices_b))
    s.add(DeviceTask(s, DEVICE_A, 4000))
    s.add(DeviceTask(s, DEVICE_B, 5000))
    s.run()
    return "%d %d %d %d" % (s.sent, s.holds, s.tasks[DEVICE_A].seen, s.tasks[DEVICE_B].seen)


if __name__ == "__main__":
    print(main(int(sys.argv[1]) if len(sys.argv) > 1 else 400000))
