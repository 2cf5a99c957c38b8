// The command list is the one in src/command_list.rs.
include!("src/command_list.rs");

/// The names of the listed commands.
macro_rules! command_names {
    ($($module:ident :: $command:ident),* $(,)?) => {
        &[$(stringify!($command)),*]
    };
}

fn main() {
    // Declaring the app's commands makes Tauri generate an `allow-<command>` permission for each
    // and refuse any command a capability (capabilities/default.json) does not grant.
    let commands: &[&str] = with_commands!(command_names);
    let manifest = tauri_build::AppManifest::new().commands(commands);
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest))
        .unwrap_or_else(|e| panic!("tauri-build failed: {e:#}"));
}
