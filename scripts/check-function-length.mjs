#!/usr/bin/env node
/**
 * Fails when a function in src/, tools/ or server/ spans more than MAX_LINES lines, first line to
 * last (declarations, methods, arrow functions and function expressions; JSX and comments count).
 * Biome's noExcessiveLinesPerFunction is not enough here: it let 190-line React components and a
 * 133-line factory pass, so this walks TypeScript's own syntax tree instead.
 * Usage: node scripts/check-function-length.mjs [--max N]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';

const MAX_LINES = Number(process.argv[process.argv.indexOf('--max') + 1]) || 120;
const ROOTS = ['src', 'tools', 'server'];

function* files(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* files(path);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) yield path;
  }
}

function nameOf(node, sf) {
  if (node.name) return node.name.getText(sf);
  const parent = node.parent;
  if (parent && ts.isVariableDeclaration(parent)) return parent.name.getText(sf);
  if (parent && ts.isPropertyAssignment(parent)) return parent.name.getText(sf);
  return '(anonymous)';
}

const long = [];
for (const root of ROOTS) {
  for (const path of files(root)) {
    const text = readFileSync(path, 'utf8');
    const sf = ts.createSourceFile(
      path,
      text,
      ts.ScriptTarget.Latest,
      true,
      path.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
    );
    const visit = (node) => {
      if (ts.isFunctionLike(node) && node.body) {
        const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
        const end = sf.getLineAndCharacterOfPosition(node.end).line;
        const lines = end - start + 1;
        if (lines > MAX_LINES) long.push(`${path}:${start + 1} ${nameOf(node, sf)}: ${lines} lines`);
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
}
if (long.length) {
  console.error(`functions longer than ${MAX_LINES} lines (split them):\n${long.join('\n')}`);
  process.exit(1);
}
console.log(`no function in ${ROOTS.join(', ')} is longer than ${MAX_LINES} lines`);
