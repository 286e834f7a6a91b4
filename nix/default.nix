# lock2build's Nix library: a build graph (`lock2build graph -o graph.json`,
# docs/graph.md) read with builtins.fromJSON, one derivation per node. No Nix
# code is generated; see docs/nix.md.
#
#   let l2b = import ./nix { graph = ./graph.json; lock2build = /usr/local/bin/lock2build; };
#   in l2b.nodes."<node-id>"     # one node
#      l2b.all                   # every node (nix-build -A all)
#      l2b.sources               # the fixed nodes: downloads, checkouts
#
# Fixed nodes (sources) are fixed-output derivations: `fetch-url` by Nix's
# own builtin:fetchurl from the lock's URL and hash, others (`git-checkout`)
# by `lock2build realise`, checked by Nix against the recorded NAR hash.
# The project's own files (`local-tree`) are copied by builtins.path with
# lock2build's filter. Built nodes run `lock2build realise` for their node,
# inputs passed by path. With `pkgs`, a node's toolchains (npm's build
# tools among them) and native libraries are pkgs' attributes the graph
# names (toolchains.*.nixpkgs, native.*.nixpkgs), handed to realise in
# LOCK2BUILD_NIXPKGS.
{ graph                      # path to the graph document
, lock2build ? null          # the lock2build binary, for nodes realise makes
, pkgs ? null                # nixpkgs: toolchains, native libraries and tools from it
, hostPath ? "/usr/local/bin:/usr/bin:/bin"  # where host tools are (no pkgs)
, system ? builtins.currentSystem
}:
let
  doc = builtins.fromJSON (builtins.readFile graph);
  checked =
    if (doc.kind or "") != "lock2build-build-graph" then
      throw "lock2build: ${toString graph} is not a lock2build build graph (make one with `lock2build graph -o graph.json`)"
    else if (doc.version or 0) != 1 then
      throw "lock2build: ${toString graph} is build graph version ${toString (doc.version or "none")}; this nix/ library reads version 1 (make it again with the lock2build beside this library)"
    else doc;
  byId = builtins.listToAttrs (map (n: { name = n.id; value = n; }) checked.nodes);
  # What `realise` reads of the graph for node n: n, the toolchains, and of
  # each input what checks it (its id, kind and hash; a local tree's tree
  # hash), not its recipe or its own inputs. A derivation then changes only
  # when its node or its inputs' outputs do: an edit of the project's files
  # rebuilds what reads them, not the dependencies (whose skeleton's recipe
  # names the edited tree, but whose output is fixed).
  asInput = i:
    let m = byId.${i}; in
    { inherit (m) id name; }
    // { recipe = if m.recipe.kind == "local-tree"
                  then builtins.removeAttrs m.recipe [ "path" ]
                  else { inherit (m.recipe) kind; }; }
    // (if m ? output then { inherit (m) output; } else { });
  nodeGraph = n: builtins.toFile "${n.name}-graph.json" (builtins.toJSON (
    builtins.removeAttrs checked [ "result" "native" ] // {
      nodes = map asInput (builtins.filter (i: byId ? ${i}) (n.inputs or [ ])) ++ [ n ];
    } // (if (n.native or [ ]) == [ ] then { } else {
      native = builtins.intersectAttrs
        (builtins.listToAttrs (map (l: { name = l; value = null; }) n.native))
        (checked.native or { });
    })));
  toolPath =
    if pkgs == null then hostPath
    else builtins.concatStringsSep ":" (map (p: "${p}/bin") [ pkgs.git pkgs.coreutils ]);
  # With pkgs: an attribute of it by its path ("stdenv.cc"), or an
  # evaluation error naming the node and the attribute.
  fromPkgs = n: what: attr:
    let
      parts = builtins.filter builtins.isString (builtins.split "[.]" attr);
      found = builtins.foldl'
        (acc: p: if acc != null && builtins.isAttrs acc && acc ? ${p} then acc.${p} else null)
        pkgs parts;
    in
    if found == null then
      throw "lock2build: node `${n.id}` needs ${what} from pkgs, which has no attribute `${attr}`"
    else found;
  toolchainPackage = n: t:
    let tool = checked.toolchains.${t}; in
    if (tool.nixpkgs or null) == null then
      throw "lock2build: node `${n.id}` runs the `${t}` toolchain (${tool.path}), for which the graph names no nixpkgs attribute"
    else fromPkgs n "the `${t}` toolchain" tool.nixpkgs;
  # A library's outputs a build reads: `dev` (headers, .pc files) where the
  # package has one, and `out` (the libraries).
  nativeOutputs = n: lib:
    let attrs = ((checked.native or { }).${lib} or { }).nixpkgs or [ ]; in
    if attrs == [ ] then
      throw "lock2build: node `${n.id}` links `${lib}`, for which the graph names no nixpkgs attribute (make the graph again with this lock2build)"
    else builtins.concatMap (a:
      let p = fromPkgs n "the native library `${lib}`" a; in
      (if p ? dev then [ p.dev ] else [ ]) ++ [ (p.out or p) ]) attrs;
  # What npm's steps run besides their toolchains, on PATH: install and
  # build scripts through `sh` (bash), the Makefiles node-gyp writes
  # (sed, grep). Other kinds run only their toolchains and coreutils.
  npmKinds = [ "npm-git-pack" "npm-node-modules" "npm-app" ];
  scriptTools = n:
    if builtins.elem n.recipe.kind npmKinds then
      map (fromPkgs n "a tool its scripts run") [ "bash" "gnused" "gnugrep" ]
    else [ ];
  # A C compiler's binutils (nixpkgs' cc-wrapper has them as `bintools`):
  # `ar` and `ld` run by Makefiles, as stdenv puts them on PATH.
  bintools = n: builtins.concatMap
    (t: let p = toolchainPackage n t; in if p ? bintools then [ p.bintools ] else [ ])
    (n.toolchains or [ ]);
  # What realise takes instead of the host's tools and libraries
  # (LOCK2BUILD_NIXPKGS, docs/nix.md): store paths, so the derivation
  # has them as inputs.
  provided = n: builtins.toJSON {
    toolchains = builtins.listToAttrs (map
      (t: { name = t; value = "${toolchainPackage n t}"; }) (n.toolchains or [ ]));
    native = builtins.listToAttrs (map
      (l: { name = l; value = map (p: "${p}") (nativeOutputs n l); }) (n.native or [ ]));
    path = map (p: "${p}/bin") ([ pkgs.coreutils ] ++ scriptTools n ++ bintools n
      ++ (if (n.native or [ ]) == [ ] then [ ] else [ (fromPkgs n "pkg-config" "pkg-config") ]));
  };
  realiser = n:
    if lock2build == null then
      throw "lock2build: node `${n.id}` (${n.recipe.kind}) is made by `lock2build realise`: pass lock2build = /path/to/lock2build"
    else lock2build;
  fixed = n:
    if n ? output && n.output ? fixed then {
      outputHash = n.output.fixed.hash;
      outputHashMode = if n.output.fixed.mode == "nar" then "recursive" else "flat";
    } else { };
  fetchUrl = n: derivation ({
    inherit system;
    name = n.name;
    builder = "builtin:fetchurl";
    url = builtins.head n.recipe.urls;
    executable = false;
    unpack = false;
  } // fixed n);
  realised = n: derivation ({
    inherit system;
    name = n.name;
    builder = "${realiser n}";
    args = [ "realise" "--graph" "${nodeGraph n}" n.id ]
      ++ builtins.concatMap (i:
        if byId ? ${i} then [ "--input" "${i}=${nodes.${i}}" ]
        else throw "lock2build: node `${n.id}` takes `${i}`, which is not in the graph")
        (n.inputs or [ ]);
    PATH = toolPath;
  } // (if pkgs == null then { } else { LOCK2BUILD_NIXPKGS = provided n; })
    // fixed n);
  # The project's own files: copied by Nix at evaluation, with lock2build's
  # filter (directories and files never part of a source tree).
  hasPrefix = pre: s: builtins.substring 0 (builtins.stringLength pre) s == pre;
  localTree = n: builtins.path {
    path = /. + n.recipe.path;
    name = n.name;
    filter = p: _type:
      let base = baseNameOf p; in
      !(builtins.elem base (n.recipe.exclude or [ ])
        || builtins.any (pre: hasPrefix pre base) (n.recipe.exclude_prefixes or [ ]));
  };
  nodes = builtins.mapAttrs
    (id: n:
      if n.recipe.kind == "fetch-url" then fetchUrl n
      else if n.recipe.kind == "local-tree" then localTree n
      else realised n)
    byId;
in
{
  inherit nodes;
  graph = checked;
  # Every derivation (local-tree nodes are store paths Nix copies, not built).
  all = builtins.filter builtins.isAttrs (builtins.attrValues nodes);
  # The downloads and checkouts (fixed nodes).
  sources = map (n: nodes.${n.id})
    (builtins.filter (n: n ? output && n.output ? fixed) checked.nodes);
} // (if checked ? result then { result = nodes.${checked.result}; } else { })
