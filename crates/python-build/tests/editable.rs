//! `pth_wheel`: the editable wheel lock2build writes for a backend without
//! PEP 660's hook, checked by what pip makes of it and by the interpreter.

mod common;

use common::*;
use lock2build_python::{install_wheel, pth_wheel, EditableProject};

#[test]
fn a_pth_wheel_installs_as_pip_installs_it_and_imports_the_source() {
    let work = tempfile::tempdir().unwrap();
    let project = work.path().join("project");
    std::fs::create_dir_all(project.join("src/my_pkg")).unwrap();
    std::fs::write(
        project.join("src/my_pkg/__init__.py"),
        "def main():\n    print('from source')\n",
    )
    .unwrap();
    std::fs::write(
        project.join("pyproject.toml"),
        "[project]\nname = \"My.Pkg\"\nversion = \"1.2.3\"\n\n[project.scripts]\nmy-pkg = \"my_pkg:main\"\n\n[tool.poetry.scripts]\nmy-poetry = \"my_pkg:main\"\n",
    )
    .unwrap();
    let dist = work.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    let editable = EditableProject {
        dir: &project,
        name: "My.Pkg",
        version: "1.2.3",
    };
    let wheel = pth_wheel(&editable, &dist).unwrap();
    assert_eq!(wheel.file_name().unwrap(), "my_pkg-1.2.3-py3-none-any.whl");

    // pip accepts it (RECORD, WHEEL) and installs the same files.
    let theirs = work.path().join("pip");
    pip_install(&wheel, &theirs);
    let ours = work.path().join("ours");
    install_wheel(&wheel, &ours, python()).unwrap();
    let site = python().site_packages.clone();
    let pth = site.join("_my_pkg_editable.pth");
    assert_eq!(
        std::fs::read_to_string(ours.join(&pth)).unwrap(),
        format!("{}\n", project.join("src").display())
    );
    assert_eq!(
        std::fs::read(ours.join(&pth)).unwrap(),
        std::fs::read(theirs.join(&pth)).unwrap()
    );
    let metadata = site.join("my_pkg-1.2.3.dist-info/METADATA");
    assert!(std::fs::read_to_string(ours.join(&metadata))
        .unwrap()
        .contains("Name: My.Pkg\nVersion: 1.2.3\n"));
    for script in ["my-pkg", "my-poetry"] {
        assert!(ours.join("bin").join(script).is_file(), "{script}");
        assert!(theirs.join("bin").join(script).is_file(), "{script}");
    }

    // The interpreter, given that site-packages, imports the source.
    let out = run(std::process::Command::new(&python().executable).args([
        "-c",
        &format!(
            "import site; site.addsitedir({:?}); import my_pkg, importlib.metadata as m; print(my_pkg.__file__, m.version('my.pkg'))",
            ours.join(&site).display().to_string()
        ),
    ]));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("{} 1.2.3", project.join("src/my_pkg/__init__.py").display())
    );
}
