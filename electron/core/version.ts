/** Protocol-visible version of this build (in adverts and /api/status). */
export const VERSION = '0.1.0'
