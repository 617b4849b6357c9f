/* The start-up probe of scripts/bench: a program that does nothing, so
 * running it measures process start, loading and instantiation alone. */
int main(void) { return 0; }
