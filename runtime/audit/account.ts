/**
 * The service user as the install check needs it: name, uid and primary group, from `id`.
 *
 * Needs: run (`id`).
 *
 * @module
 */
import { systemTool } from "./_system_tool.ts";

/** Who the service user is. */
export interface Account {
  readonly name: string;
  readonly uid: number;
  /** The primary group; supplementary groups come from the group database at check time. */
  readonly gid: number;
}

const decoder = new TextDecoder();

/**
 * Looks a user up with `id`.
 *
 * @throws {Error} When there is no such user.
 */
export async function account(name: string): Promise<Account> {
  const id = await systemTool("id");
  const ask = async (flag: string) => {
    const output = await new Deno.Command(id, {
      args: [flag, "--", name],
      clearEnv: true,
      env: { LC_ALL: "C" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = decoder.decode(output.stdout).trim();
    if (output.code !== 0 || !/^\d+$/.test(text)) {
      throw new Error(`Cannot check as user "${name}": no such user`);
    }
    return Number(text);
  };
  return { name, uid: await ask("-u"), gid: await ask("-g") };
}
