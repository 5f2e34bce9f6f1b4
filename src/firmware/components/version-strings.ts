/**
 * Version strings that third-party components embed in their binaries. Each pattern is anchored on
 * text the project itself prints (banners, ident strings, copyright lines), so a match names the
 * component and its upstream version.
 */
export interface VersionPattern {
  name: string;
  pattern: RegExp;
}

export const VERSION_PATTERNS: readonly VersionPattern[] = [
  { name: 'busybox', pattern: /BusyBox v(\d+\.\d+(?:\.\d+)?)/g },
  { name: 'openssl', pattern: /OpenSSL (\d+\.\d+\.\d+[a-z]{0,2})[ -]/g },
  { name: 'dropbear', pattern: /(?:dropbear_|Dropbear (?:SSH |sshd )?v)(20\d\d\.\d+)/g },
  { name: 'openssh', pattern: /OpenSSH_(\d+\.\d+(?:p\d+)?)/g },
  { name: 'glibc', pattern: /GNU C Library[^\n]{0,80}? version (\d+\.\d+(?:\.\d+)?)/g },
  { name: 'uclibc', pattern: /uClibc(?:-ng)? (\d+\.\d+\.\d+)/g },
  { name: 'linux', pattern: /Linux version (\d+\.\d+(?:\.\d+)?)/g },
  { name: 'linux', pattern: /vermagic=(\d+\.\d+\.\d+)/g },
  { name: 'lighttpd', pattern: /lighttpd\/(\d+\.\d+\.\d+)/g },
  { name: 'dnsmasq', pattern: /dnsmasq-(\d+\.\d+(?:\.\d+)?)/g },
  { name: 'curl', pattern: /(?:curl|libcurl)\/(\d+\.\d+\.\d+)/g },
  { name: 'zlib', pattern: /(?:deflate|inflate) (\d+\.\d+\.\d+(?:\.\d+)?) Copyright/g },
  { name: 'hostapd', pattern: /hostapd v(\d+\.\d+(?:\.\d+)?)/g },
  { name: 'mbedtls', pattern: /(?:mbed TLS|Mbed TLS) (\d+\.\d+\.\d+)/g },
];

/** Library file names that carry the version (libuClibc-1.0.31.so, libc-2.31.so) or identify musl. */
export const FILE_NAME_PATTERNS: readonly VersionPattern[] = [
  { name: 'uclibc', pattern: /^libuClibc-(\d+\.\d+\.\d+)\.so$/ },
  { name: 'glibc', pattern: /^libc-(\d+\.\d+)\.so$/ },
  { name: 'musl', pattern: /^ld-musl-[\w-]+\.so\.1$/ },
];
