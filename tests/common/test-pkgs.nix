# A stand-in for nixpkgs (there is none on the test machines), for
# tests/graph_nixpkgs.rs: each attribute a derivation, named as nixpkgs
# names the package (`rustc`, `gcc`, `nodejs`, `gnumake`, `openssl`,
# `sqlite`): wrappers of (or links to) the host's tools, and copies of the
# host's OpenSSL and SQLite whose `dev` output has their headers and a
# `.pc` file of its own (naming these store paths, not /usr). Built with
# `sandbox = false` (they read the host).
{ rustBin, libdir, multiarch, opensslVersion, sqliteVersion
, patchelf ? "/usr/bin/patchelf"
, pythonAttr ? "python311", hostPython ? "/usr/bin/python3.11"
, hostNode ? "/usr/bin/node", hostNpm ? "/usr/lib/node_modules/npm"
, nodeHeaders ? "/usr/include/node"
, system ? builtins.currentSystem }:
let
  sh = name: extra: script: derivation ({
    inherit name system;
    builder = "/bin/sh";
    args = [ "-c" script ];
  } // extra);
  wrapper = name: target: wrappers "" name { ${name} = target; };
  # One package of several wrappers: bin/NAME runs `prefix` then execs
  # its target.
  wrappers = prefix: name: targets: sh "test-${name}" { } ''
    /bin/mkdir -p $out/bin
    ${builtins.concatStringsSep "\n" (builtins.attrValues (builtins.mapAttrs (tool: target: ''
      printf '#!/bin/sh\n${prefix}exec %s "$@"\n' ${target} > $out/bin/${tool}
      /bin/chmod +x $out/bin/${tool}
    '') targets))}
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
  # cc for build scripts, g++ (make's default CXX) for node-gyp; each
  # finds the host's assembler and linker, as nixpkgs' cc-wrapper finds
  # the binutils it carries.
  gcc = wrappers "PATH=\"$PATH:/usr/bin\" " "cc" { cc = "/usr/bin/cc"; "c++" = "/usr/bin/c++"; "g++" = "/usr/bin/g++"; }
    // { bintools = links "binutils" "/usr/bin" [ "ar" "as" "ld" "nm" "ranlib" "strip" ]; };
  gnumake = wrapper "make" "/usr/bin/make";
  python3 = wrapper "python3" "/usr/bin/python3";
  # nixpkgs' layout: bin/node, npm in lib/node_modules/npm (bin/npm its
  # CLI), the headers node-gyp compiles against in include/node.
  nodejs = sh "test-nodejs" { } ''
    /bin/mkdir -p $out/bin $out/lib/node_modules $out/include
    /bin/ln -s ${hostNode} $out/bin/node
    /bin/ln -s ${hostNpm} $out/lib/node_modules/npm
    /bin/ln -s ../lib/node_modules/npm/bin/npm-cli.js $out/bin/npm
    /bin/ln -s ${nodeHeaders} $out/include/node
  '';
  pkg-config = wrapper "pkg-config" "/usr/bin/pkg-config";
  git = wrapper "git" "/usr/bin/git";
  bash = links "bash" "/bin" [ "bash" "sh" ];
  gnused = links "gnused" "/bin" [ "sed" ];
  gnugrep = links "gnugrep" "/bin" [ "grep" ];
  coreutils = links "coreutils" "/usr/bin" [ "cat" "cp" "ls" "ln" "mkdir" "mv" "rm" "chmod" "env" "sort" "head" "tr" "uname" "dirname" "basename" "printf" "touch" "echo" "true" "test" "wc" "cut" "readlink" ];
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
