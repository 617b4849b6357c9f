/* The smallest C++ runtime that lets `exceptions.cpp` throw and catch when
 * built with clang's -fwasm-exceptions and no C++ library (none with wasm
 * exceptions is installed here): allocation, throw, begin/end catch,
 * rethrow, and the wasm personality (`_Unwind_CallPersonality`), which
 * reads the call-site and action tables LLVM emits (the format libcxxabi's
 * `scan_eh_tab` reads). Types match by `type_info` identity, without base
 * classes: exactly what the program needs. Built as C++ without C++
 * features beyond `__builtin_wasm_throw`. */
#include <stddef.h>
#include <stdint.h>

/* C++ only so that the throw below sees the compiler's own (weak) tag for
 * C++ exceptions; everything is extern "C", as in a real runtime. */
extern "C" {

struct unwind_exception {
    uint64_t exception_class;
    void *cleanup;
    uintptr_t private_1, private_2;
};

/* Before every thrown object. */
struct header {
    const void *type;
    void (*destructor)(void *);
    int handlers;
    int rethrown;
    struct unwind_exception unwind;
};

struct lpad_context {
    uintptr_t lpad_index;
    const uint8_t *lsda;
    uintptr_t selector;
};

struct lpad_context __wasm_lpad_context;

/* The vtable the compiler names for class type_info objects; never called. */
void *_ZTVN10__cxxabiv117__class_type_infoE[8];
void *_ZTVN10__cxxabiv123__fundamental_type_infoE[8];
/* `typeid(int)`, which a fundamental-type runtime would define. */
const void *_ZTIi[2] = {&_ZTVN10__cxxabiv123__fundamental_type_infoE[2], "i"};

alignas(16) static uint8_t heap[1 << 20];
static size_t heap_used;

static struct header *caught[64];
static int caught_count;

void _ZSt9terminatev(void) { __builtin_trap(); }

void *memset(void *d, int c, size_t n) {
    uint8_t *p = (uint8_t *)d;
    while (n--) *p++ = (uint8_t)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n) {
    uint8_t *p = (uint8_t *)d;
    const uint8_t *q = (const uint8_t *)s;
    while (n--) *p++ = *q++;
    return d;
}

static struct header *header_of(void *object) {
    return (struct header *)((uint8_t *)object - sizeof(struct header));
}

void *__cxa_allocate_exception(size_t size) {
    size_t total = (sizeof(struct header) + size + 15) & ~(size_t)15;
    if (heap_used + total > sizeof heap) __builtin_trap();
    struct header *h = (struct header *)(heap + heap_used);
    heap_used += total;
    memset(h, 0, total);
    return h + 1;
}

void __cxa_free_exception(void *object) { (void)object; }

__attribute__((noreturn)) void __cxa_throw(void *object, const void *type, void (*destructor)(void *)) {
    struct header *h = header_of(object);
    h->type = type;
    h->destructor = destructor;
    h->unwind.exception_class = 0x434c4e47432b2b00ull; /* "CLNGC++\0" */
    __builtin_wasm_throw(0, &h->unwind);
}

void *__cxa_begin_catch(void *unwind) {
    struct header *h = (struct header *)((uint8_t *)unwind - offsetof(struct header, unwind));
    h->handlers++;
    h->rethrown = 0;
    if (caught_count == 64) __builtin_trap();
    caught[caught_count++] = h;
    return h + 1;
}

void __cxa_end_catch(void) {
    if (caught_count == 0) __builtin_trap();
    struct header *h = caught[--caught_count];
    if (--h->handlers == 0 && !h->rethrown && h->destructor) h->destructor(h + 1);
}

/* `throw;`: the handler's cleanup still calls `__cxa_end_catch`, which
 * pops the exception without destroying it. */
__attribute__((noreturn)) void __cxa_rethrow(void) {
    if (caught_count == 0) __builtin_trap();
    struct header *h = caught[caught_count - 1];
    h->rethrown = 1;
    __builtin_wasm_throw(0, &h->unwind);
}

static uintptr_t uleb(const uint8_t **p) {
    uintptr_t value = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        byte = *(*p)++;
        value |= (uintptr_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    return value;
}

static intptr_t sleb(const uint8_t **p) {
    intptr_t value = 0;
    unsigned shift = 0;
    uint8_t byte;
    do {
        byte = *(*p)++;
        value |= (intptr_t)(byte & 0x7f) << shift;
        shift += 7;
    } while (byte & 0x80);
    if (shift < 8 * sizeof value && (byte & 0x40)) value |= -((intptr_t)1 << shift);
    return value;
}

enum { URC_HANDLER_FOUND = 6, URC_CONTINUE_UNWIND = 8, DW_EH_PE_omit = 0xff };

/* Called by a landing pad with the thrown `unwind_exception`: sets the
 * selector of the first clause of the pad's action list that catches it. */
int _Unwind_CallPersonality(void *unwind) {
    struct header *h = (struct header *)((uint8_t *)unwind - offsetof(struct header, unwind));
    __wasm_lpad_context.selector = 0;
    const uint8_t *lsda = __wasm_lpad_context.lsda;
    if (!lsda) return URC_CONTINUE_UNWIND;
    uint8_t lp_start_encoding = *lsda++;
    if (lp_start_encoding != DW_EH_PE_omit) __builtin_trap();
    uint8_t ttype_encoding = *lsda++;
    const uint8_t *types = 0;
    if (ttype_encoding != DW_EH_PE_omit) {
        uintptr_t offset = uleb(&lsda);
        types = lsda + offset;
    }
    lsda++; /* call-site encoding: unused, entries are ULEB128 */
    uintptr_t length = uleb(&lsda);
    const uint8_t *site = lsda, *actions = lsda + length;
    for (uintptr_t index = 0; site < actions; index++) {
        uleb(&site); /* landing pad */
        uintptr_t action_entry = uleb(&site);
        if (index != __wasm_lpad_context.lpad_index) continue;
        if (action_entry == 0) return URC_CONTINUE_UNWIND;
        const uint8_t *action = actions + action_entry - 1;
        for (;;) {
            intptr_t type_index = sleb(&action);
            if (type_index > 0) {
                const void *type = *(const void *const *)(types - type_index * sizeof(void *));
                if (type == 0 || type == h->type) {
                    __wasm_lpad_context.selector = (uintptr_t)type_index;
                    return URC_HANDLER_FOUND;
                }
            }
            const uint8_t *next = action;
            intptr_t offset = sleb(&next);
            if (offset == 0) return URC_CONTINUE_UNWIND;
            action += offset;
        }
    }
    return URC_CONTINUE_UNWIND;
}

}  // extern "C"
