// Deferred directory metadata. Directory modes and times are applied once, after the whole image
// is written, children before parents: a restrictive mode (0500, 0000) must not stop later
// entries or layers from writing into the directory, and writing into a directory changes its
// mtime. A trie keyed by path component lets a removed directory drop its whole subtree in O(depth).
import { chmodSync, lstatSync, utimesSync } from 'node:fs';
import { bytes } from './paths.js';
import { fsTime } from './times.js';

export interface DirMeta {
  mode: number;
  atime: number;
  mtime: number;
}

interface Node {
  children?: Map<string, Node>;
  meta?: DirMeta;
}

export class DirMetaTree {
  private root: Node = {};
  size = 0;

  set(rel: string, meta: DirMeta): void {
    let node = this.root;
    if (rel !== '') {
      for (const c of rel.split('/')) {
        node.children ??= new Map();
        let next = node.children.get(c);
        if (!next) {
          next = {};
          node.children.set(c, next);
        }
        node = next;
      }
    }
    if (!node.meta) this.size++;
    node.meta = meta;
  }

  /** Forgets the record of `rel` only (its subdirectories keep theirs). */
  forget(rel: string): void {
    let node: Node | undefined = this.root;
    if (rel !== '') for (const c of rel.split('/')) node = node?.children?.get(c);
    if (node?.meta) {
      node.meta = undefined;
      this.size--;
    }
  }

  /** Forgets `rel` and everything below it (the directory was removed). */
  delete(rel: string): void {
    if (rel === '') {
      this.root = {};
      this.size = 0;
      return;
    }
    const comps = rel.split('/');
    let node: Node | undefined = this.root;
    for (let i = 0; i < comps.length - 1 && node; i++) node = node.children?.get(comps[i]!);
    const last = comps[comps.length - 1]!;
    const gone = node?.children?.get(last);
    if (gone) {
      node!.children!.delete(last);
      this.size -= count(gone);
    }
  }

  /**
   * Applies every recorded mode and time, deepest first. `rootHost` is the rootfs as a byte
   * string. Entries whose path is no longer a directory are skipped (lstat: never follows a leaf
   * symlink; parents are real directories because removals drop their subtrees here).
   */
  apply(rootHost: string): void {
    // Iterative post-order walk: hostile layers can nest very deep.
    const stack: { node: Node; rel: string; expanded: boolean }[] = [{ node: this.root, rel: '', expanded: false }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      if (!top.expanded && top.node.children) {
        top.expanded = true;
        for (const [name, child] of top.node.children) {
          stack.push({ node: child, rel: top.rel === '' ? name : `${top.rel}/${name}`, expanded: false });
        }
        continue;
      }
      stack.pop();
      const meta = top.node.meta;
      if (!meta) continue;
      const host = bytes(top.rel === '' ? rootHost : `${rootHost}/${top.rel}`);
      const st = lstatSync(host, { throwIfNoEntry: false });
      if (!st?.isDirectory()) continue;
      chmodSync(host, meta.mode);
      utimesSync(host, fsTime(meta.atime), fsTime(meta.mtime));
    }
    this.root = {};
    this.size = 0;
  }
}

function count(node: Node): number {
  let n = 0;
  const stack = [node];
  while (stack.length > 0) {
    const x = stack.pop()!;
    if (x.meta) n++;
    if (x.children) for (const c of x.children.values()) stack.push(c);
  }
  return n;
}
