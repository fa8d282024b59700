/** The longest delay `setTimeout` honours; a longer one fires at once. */
export const maxTimerDelayInMs = 2 ** 31 - 1;
