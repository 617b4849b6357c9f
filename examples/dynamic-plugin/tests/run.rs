//! Runs the example program and checks what it prints.

#[test]
fn loads_the_shared_library_and_calls_it() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dynamic-plugin")).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let expected = "loaded libplugin.so\n\
                    add(2, 3) = 5\n\
                    div-mod(17, 5) = (3, 2)\n\
                    plugin says 7\n\
                    load(70000) trapped: ";
    assert!(stdout.starts_with(expected), "{stdout}");
    assert!(stdout.contains("out of bounds"), "{stdout}");
}
