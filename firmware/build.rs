//! Puts the memory map of the board that the target is run on beside `link.x`, and
//! names the board in a cfg: `thumbv6m-none-eabi` runs on QEMU's `microbit` (nRF51822,
//! Cortex-M0), `thumbv7em-none-eabihf` on `mps2-an386` (Cortex-M4F; its 4 MB of code and
//! RAM hold the same map as the LM3S6965's), every other thumb target on `lm3s6965evb`
//! (LM3S6965, Cortex-M3).

use std::env;
use std::fs;
use std::path::PathBuf;

fn main() {
    let target = env::var("TARGET").unwrap_or_default();
    let microbit = target.starts_with("thumbv6m");
    println!("cargo:rustc-check-cfg=cfg(microbit)");
    println!("cargo:rustc-check-cfg=cfg(mps2)");
    if microbit {
        println!("cargo:rustc-cfg=microbit");
    } else if target.starts_with("thumbv7em") {
        println!("cargo:rustc-cfg=mps2");
    }
    let memory = if microbit {
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 16K\n}\n"
    } else {
        "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM : ORIGIN = 0x20000000, LENGTH = 64K\n}\n"
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), memory).expect("OUT_DIR is writable");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=build.rs");
}
