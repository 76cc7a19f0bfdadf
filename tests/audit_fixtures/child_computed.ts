/** Broken on purpose (audit fixture): a child entry with a computed dynamic import. */
export async function load(name: string): Promise<unknown> {
  return await import(name);
}
