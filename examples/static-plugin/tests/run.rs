//! Runs the example program and checks what it prints.

#[test]
fn prints_results_host_calls_and_the_trap() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_static-plugin")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let expected = "add(2, 3) = 5\n\
                    div-mod(17, 5) = (3, 2)\n\
                    scaled(4) = 6\n\
                    plugin says 42\n\
                    host logged [42]\n\
                    type(v128) = 0x2000000040000000600000008\n\
                    div-mod(1, 0) trapped: ";
    assert!(stdout.starts_with(expected), "{stdout}");
    assert!(stdout.contains("integer divide by zero"), "{stdout}");
    assert!(stdout.ends_with("counter = 42\n"), "{stdout}");
}
