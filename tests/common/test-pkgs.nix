# A stand-in for nixpkgs (there is none on the test machines), for
# tests/graph_nixpkgs.rs: each attribute a derivation, named as nixpkgs
# names the package (`rustc`, `gcc`, `openssl`, `sqlite`): wrappers of the
# host's tools, and copies of the host's OpenSSL and SQLite whose `dev`
# output has their headers and a `.pc` file of its own (naming these store
# paths, not /usr). Built with `sandbox = false` (they read the host).
{ rustBin, libdir, multiarch, opensslVersion, sqliteVersion
, patchelf ? "/usr/bin/patchelf"
, pythonAttr ? "python311", hostPython ? "/usr/bin/python3.11"
, system ? builtins.currentSystem }:
let
  sh = name: extra: script: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
  } // extra);
  wrapper = name: target: sh "test-${name}" { } ''
    /bin/mkdir -p $out/bin
    printf '#!/bin/sh\nexec %s "$@"\n' ${target} > $out/bin/${name}
    /bin/chmod +x $out/bin/${name}
  '';
  links = name: dir: tools: sh "test-${name}" { } ''
    /bin/mkdir -p $out/bin
    for t in ${toString tools}; do /bin/ln -s ${dir}/$t $out/bin/$t; done
  '';
  # A library: out/lib the host's shared objects, dev/include its
  # headers, dev/lib/pkgconfig one module naming both.
  library = name: { module, version, libs, headers, extra ? "" }: sh "test-${name}" { outputs = [ "out" "dev" ]; } ''
    /bin/mkdir -p $out/lib $dev/include $dev/lib/pkgconfig
    for l in ${toString libs}; do
      /bin/cp -L ${libdir}/lib$l.so $out/lib/lib$l.so
    done
    for h in ${toString headers}; do /bin/cp -rL $h $dev/include/; done
    ${extra}
    printf 'Name: ${module}\nDescription: the test pkgs copy\nVersion: ${version}\nLibs: -L%s/lib -Wl,-rpath,%s/lib ${toString (map (l: "-l" + l) libs)}\nCflags: -I%s/include\n' \
      $out $out $dev > $dev/lib/pkgconfig/${module}.pc
  '';
  # Not a nixpkgs name: the host's rustc and cargo copied into the store
  # with the C libraries they load (all in lib/, which their RUNPATH
  # $ORIGIN/../lib names) and the loader there too, so they run in Nix's
  # sandbox (`sandbox = true`), where nothing of the host is visible.
  storeRust = sh "test-store-rust" { } ''
    /bin/mkdir -p $out/bin $out/lib
    /bin/cp ${rustBin}/rustc ${rustBin}/cargo $out/bin/
    /bin/cp -P ${rustBin}/../lib/*.so* $out/lib/
    for l in ld-linux-x86-64.so.2 libc.so.6 libm.so.6 libdl.so.2 librt.so.1 libpthread.so.0 libgcc_s.so.1 libz.so.1; do
      /bin/cp -L /lib/${multiarch}/$l $out/lib/ 2>/dev/null || /bin/cp -L /lib64/$l $out/lib/
    done
    /bin/chmod u+w $out/bin/*
    ${patchelf} --set-interpreter $out/lib/ld-linux-x86-64.so.2 $out/bin/rustc
    ${patchelf} --set-interpreter $out/lib/ld-linux-x86-64.so.2 $out/bin/cargo
  '';
in
{
  rustc = wrapper "rustc" "${rustBin}/rustc";
  cargo = wrapper "cargo" "${rustBin}/cargo";
  gcc = wrapper "cc" "/usr/bin/cc";
  pkg-config = wrapper "pkg-config" "/usr/bin/pkg-config";
  git = wrapper "git" "/usr/bin/git";
  coreutils = links "coreutils" "/usr/bin" [ "cat" "cp" "ls" "ln" "mkdir" "mv" "rm" "chmod" "env" "sort" "head" "tr" "uname" "dirname" "basename" ];
  openssl = library "openssl" {
    module = "openssl"; version = opensslVersion; libs = [ "ssl" "crypto" ];
    headers = [ "/usr/include/openssl" ];
    extra = "/bin/cp -L /usr/include/${multiarch}/openssl/* $dev/include/openssl/";
  };
  sqlite = library "sqlite" {
    module = "sqlite3"; version = sqliteVersion; libs = [ "sqlite3" ];
    headers = [ "/usr/include/sqlite3.h" "/usr/include/sqlite3ext.h" ];
  };
  inherit storeRust;
  # The host's interpreter copied, its standard library linked: Python
  # finds its prefix beside the copy, so sys.executable is the store path.
  ${pythonAttr} = sh "test-${pythonAttr}" { } ''
    /bin/mkdir -p $out/bin $out/lib
    /bin/cp ${hostPython} $out/bin/
    /bin/ln -s /usr/lib/${baseNameOf hostPython} $out/lib/${baseNameOf hostPython}
  '';
}
