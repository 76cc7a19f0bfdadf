import assert from "node:assert/strict";
import { fakeMountDevice, FINDMNT, readMountTable } from "./_mount_table.ts";

Deno.test("FINDMNT reads the kernel's table as JSON, devices without a bind mount's [/dir]", () => {
  assert.deepEqual(FINDMNT.args, [
    "--kernel",
    "--json",
    "--list",
    "--nofsroot",
    "--output",
    "TARGET,SOURCE,FSTYPE,UUID,VFS-OPTIONS,FS-OPTIONS",
  ]);
});

Deno.test("readMountTable() keeps mount points exactly, spaces and newlines included", () => {
  // Shape captured from findmnt 2.38.1 here (keys lowercase, nulls for unknown columns).
  const json = JSON.stringify({
    filesystems: [
      {
        target: "/",
        source: "/dev/sda1",
        fstype: "ext4",
        uuid: "2f1c0f1e-6a0b-4c5e-9d7e-0c1d2e3f4a5b",
        "vfs-options": "rw,relatime",
        "fs-options": "rw",
      },
      {
        target: "/mnt/usb/a b\nc",
        source: null,
        fstype: null,
        uuid: null,
        "vfs-options": null,
        "fs-options": null,
      },
    ],
  });
  assert.deepEqual(readMountTable(json), [
    {
      target: "/",
      source: "/dev/sda1",
      fsType: "ext4",
      uuid: "2f1c0f1e-6a0b-4c5e-9d7e-0c1d2e3f4a5b",
      vfsOptions: "rw,relatime",
      fsOptions: "rw",
    },
    {
      target: "/mnt/usb/a b\nc",
      source: "",
      fsType: "",
      uuid: null,
      vfsOptions: "",
      fsOptions: "",
    },
  ]);
});

Deno.test("readMountTable() refuses anything but findmnt's JSON table", () => {
  for (const text of ["", "TARGET SOURCE\n/ /dev/sda1", "{}", '{"filesystems":[{"target":1}]}']) {
    assert.equal(readMountTable(text), undefined, text);
  }
});

Deno.test("fakeMountDevice() reads only a plain /dev path from mount --fake --verbose", () => {
  const cases: [string, string | undefined][] = [
    ["mount: /dev/loop0 mounted on /mnt/usb/a.\n", "/dev/loop0"],
    ["mount: /dev/mapper/vg-usb_1 mounted on /mnt/usb/a.\n", "/dev/mapper/vg-usb_1"],
    ["mount: /dev/nvme0n1p1 mounted on /tmp.\n", "/dev/nvme0n1p1"],
    ["mount: /dev/../etc/shadow mounted on /x.\n", undefined],
    ["mount: /dev/.hidden mounted on /x.\n", undefined],
    ["mount: /tmp/img mounted on /x.\n", undefined],
    ["mount: /mnt/usb/a: can't find UUID=1298-0BD4.\n", undefined],
    ["", undefined],
  ];
  for (const [text, device] of cases) assert.equal(fakeMountDevice(text), device, text);
});
