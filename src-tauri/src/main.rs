// Keeps a console window from opening next to the app on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    // `lathe-desktop [PROJECT_DIR]`: open that project at start-up.
    let startup_project = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    lathe_desktop::run(startup_project);
}
