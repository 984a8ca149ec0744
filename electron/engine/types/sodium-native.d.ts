// The two libsodium calls Mamori uses (Poly1305 one-time authentication); sodium-native ships no types.
declare module 'sodium-native' {
  export const crypto_onetimeauth_BYTES: number;
  export const crypto_onetimeauth_KEYBYTES: number;
  export function crypto_onetimeauth(out: Uint8Array, input: Uint8Array, key: Uint8Array): void;
  export function crypto_onetimeauth_verify(tag: Uint8Array, input: Uint8Array, key: Uint8Array): boolean;
  const sodium: {
    crypto_onetimeauth_BYTES: number;
    crypto_onetimeauth_KEYBYTES: number;
    crypto_onetimeauth: typeof crypto_onetimeauth;
    crypto_onetimeauth_verify: typeof crypto_onetimeauth_verify;
  };
  export default sodium;
}
