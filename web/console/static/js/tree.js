// The object tree (DESIGN 4.2) as the console walks it: the fixed top of
// the tree, and the children the catalog knows under a path. Studio
// Security (treeSources) and the catalog's browser both use it.

import { h, link } from './dom.js';
import { seg, query } from './api.js';

// The fixed top: the four areas and their groups.
const FIXED = {
  '': ['applications', 'entities', 'rules', 'security'],
  entities: ['application', 'master', 'parameter'],
  rules: ['application', 'functions', 'expressions'],
  security: ['authentication', 'authorization', 'ldap'],
};

/** fixedChildren are the children the design fixes under path. */
export function fixedChildren(path) {
  return FIXED[path] || [];
}

/** parentOf is the path one level up ('' above the areas). */
export function parentOf(path) {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** How many objects one look at a node reads (one page of the API). */
export const TREE_READ = 1000;

/**
 * catalogChildren are the names one level below path among the catalog's
 * objects the caller may view (the API leaves out the others), read from
 * one page of at most TREE_READ objects; [] at the root (the areas are
 * fixed) or when the catalog cannot answer.
 */
export async function catalogChildren(ctx, p, path) {
  if (!path) return [];
  try {
    const page = await ctx.api.get(query(`/api/projects/${seg(p)}/catalog/objects`, { prefix: path, limit: TREE_READ }));
    const names = new Set();
    for (const o of page.items || []) {
      if (o.path.startsWith(`${path}/`)) names.add(o.path.slice(path.length + 1).split('/')[0]);
    }
    return [...names];
  } catch {
    return [];
  }
}

/**
 * crumbs shows where path is: the root and each ancestor as links made by
 * here(path), the last one as the current location.
 */
export function crumbs(path, here, rootLabel = 'Project root') {
  const out = [link(here(''), rootLabel)];
  let acc = '';
  for (const s of path ? path.split('/') : []) {
    acc = acc ? `${acc}/${s}` : s;
    out.push(' / ', acc === path ? h('span', { 'aria-current': 'location' }, s) : link(here(acc), s));
  }
  return h('p', { class: 'crumbs' }, out);
}
