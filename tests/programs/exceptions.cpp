// C++ exceptions across many frames: typed catches at several depths,
// destructors run by the unwinder, rethrow, a throw from a catch block,
// `catch (...)`. `run` folds every event into a checksum, so the native
// build (with its own C++ runtime) and the wasm build (with
// `cxxabi_wasm.c`, built with -fwasm-exceptions and run by kiln) must
// agree on the order of everything that happened.

static unsigned long long trace = 1469598103934665603ull;

static void event(unsigned long long what) {
    trace = (trace ^ what) * 1099511628211ull;
}

struct Guard {
    int id;
    explicit Guard(int id) : id(id) { event(1000 + id); }
    ~Guard() { event(2000 + id); }
};

struct Small { int value; };
struct Big { long long a, b, c; double d; };

__attribute__((noinline)) static void dive(int depth, int kind) {
    Guard g(depth);
    if (depth == 0) {
        switch (kind % 4) {
            case 0: throw Small{kind};
            case 1: throw Big{kind, kind * 2LL, kind * 3LL, kind * 0.5};
            case 2: throw kind;
            default: return;
        }
    }
    if (depth % 7 == 3) {
        try {
            dive(depth - 1, kind);
        } catch (const Small &s) {
            event(3000 + s.value);
            if (s.value % 3 == 0) throw;          // rethrow to an outer handler
            if (s.value % 3 == 1) throw Big{s.value, 0, 0, 1.5};
            return;
        }
        return;
    }
    dive(depth - 1, kind);
}

__attribute__((noinline)) static int level(int depth, int kind) {
    try {
        dive(depth, kind);
        event(4000);
        return 0;
    } catch (const Big &b) {
        event(5000 + b.a + b.b + b.c + (long long)(b.d * 2));
        return 1;
    } catch (int i) {
        event(6000 + i);
        try {
            throw Small{i + 1};
        } catch (const Small &s) {
            event(6500 + s.value);
        }
        return 2;
    } catch (...) {
        event(7000);
        return 3;
    }
}

extern "C" unsigned long long run(int rounds) {
    trace = 1469598103934665603ull;
    int sum = 0;
    for (int k = 0; k < rounds; k++) {
        Guard outer(-k);
        sum += level(40 + k % 50, k);
    }
    event(sum);
    return trace;
}
